#pragma once
/// Binary classification metrics, matched to scikit-learn 1.2 (Debian's python3-sklearn).
///
/// Inputs everywhere: `labels` are 0 (normal) / 1 (abnormal); `scores` are finite doubles,
/// normally the probability of class 1 (any real that ranks works for the ranking metrics);
/// `preds` are 0/1. Predictions come from a threshold: `score >= threshold` -> 1 (default 0.5),
/// as `(scores >= threshold).astype(int)` in numpy.
///
/// Every function validates its input and throws mura::Error naming the problem: sizes that
/// differ, no items, a label or prediction that is not 0/1 (with its index), a score that is
/// NaN or infinite (with its index). scikit-learn rejects the same inputs.
///
/// Undefined values. Where scikit-learn raises (AUROC with one class) or returns 0/0 = NaN
/// (Cohen's kappa when labels and predictions are all one class), we return a Score whose
/// value is NaN and whose `reason` says why in a few words ("only one class present") and
/// `detail` in a full sentence ("AUROC undefined: all 37 labels are 1"). Score::format()
/// prints either the number or "n/a (<reason>)", so reports never crash and never show a
/// made-up number. The per-class precision/recall/F1 of classification_report follow
/// sklearn's zero_division="warn" convention instead (0.0 when the denominator is 0), as
/// sklearn's report prints them.
///
/// Deliberate differences from scikit-learn (all documented at the function):
///  - average_precision with no positive labels: sklearn 1.2 returns -0.0 with a warning;
///    we return NaN with a reason (a precision-recall summary without positives means nothing).
///  - confusion_matrix and classification_report always cover both classes 0 and 1 (sklearn
///    with labels=[0, 1]); sklearn without `labels` shrinks to the classes present.
///  - format_classification_report always prints the "accuracy" row; sklearn given
///    labels=[0, 1] prints "micro avg" instead when only one class occurs in labels and
///    predictions (in a binary problem the micro average equals the accuracy).
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mura::eval {

/// A metric value that may be undefined for the data at hand.
struct Score {
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string reason;  ///< short, for reports: "only one class present"; empty when defined
  std::string detail;  ///< full sentence: "AUROC undefined: all 37 labels are 1"; or empty

  bool defined() const;
  /// The value with `digits` decimals ("0.9123"), or "n/a (<reason>)" when undefined.
  std::string format(int digits = 4) const;
};

/// Predictions `score >= threshold` -> 1, else 0. Throws for NaN/infinite scores.
std::vector<int> predict(const std::vector<double>& scores, double threshold = 0.5);

// ---------------------------------------------------------------- ranking metrics

/// sklearn.metrics.roc_auc_score (binary): area under the ROC curve by the trapezoid rule
/// over the distinct-threshold curve, which equals the Mann-Whitney U statistic with ties
/// counted 1/2. Computed from integer counts, so it is the correctly rounded exact value.
/// One class only (sklearn raises ValueError): NaN, reason "only one class present".
Score roc_auc(const std::vector<int>& labels, const std::vector<double>& scores);

/// sklearn.metrics.average_precision_score (binary): sum over the distinct thresholds, in
/// decreasing order, of (R_k - R_{k-1}) * P_k; step-wise, not interpolated.
/// All labels 1: 1.0 (as sklearn). No positive labels: NaN, reason "no positive labels"
/// (sklearn 1.2 returns -0.0 and warns "No positive class found in y_true").
Score average_precision(const std::vector<int>& labels, const std::vector<double>& scores);

/// Points of sklearn.metrics.roc_curve(labels, scores, drop_intermediate=...), sklearn 1.2:
/// thresholds are the distinct scores in decreasing order, preceded by an artificial first
/// threshold `max score + 1` (sklearn 1.2's choice; later versions use +inf) at (0, 0).
/// With drop_intermediate, points collinear with their neighbours are dropped exactly as
/// sklearn does (second differences of the fps and tps counts both zero).
/// With no negatives `fpr` is all NaN, with no positives `tpr` is all NaN (as sklearn).
struct RocCurve {
  std::vector<double> fpr;         ///< increasing, from 0
  std::vector<double> tpr;         ///< increasing, from 0
  std::vector<double> thresholds;  ///< decreasing; thresholds[0] = max score + 1
};
RocCurve roc_curve(const std::vector<int>& labels, const std::vector<double>& scores,
                   bool drop_intermediate = true);

/// Points of sklearn.metrics.precision_recall_curve (sklearn 1.2: the full curve, not cut
/// at full recall): thresholds are the distinct scores in increasing order; precision and
/// recall have one more element, the final point (precision 1, recall 0).
/// No positive labels: recall is 1 at every threshold (sklearn's convention, with a warning).
struct PrCurve {
  std::vector<double> precision;
  std::vector<double> recall;      ///< decreasing, ends with 0
  std::vector<double> thresholds;  ///< increasing; size = precision.size() - 1
};
PrCurve precision_recall_curve(const std::vector<int>& labels, const std::vector<double>& scores);

/// The operating point maximising Youden's J = TPR - FPR over the ROC thresholds, i.e. the
/// distinct observed scores (the artificial `max + 1` point at (0, 0) is not a candidate,
/// so the threshold is always a score that occurs). J is compared exactly (in integers);
/// ties -> the highest threshold among the maximisers (the most specific operating point).
/// Use `score >= threshold` with it. Throws mura::Error when only one class is present.
struct YoudenPoint {
  double threshold = 0.0;
  double tpr = 0.0;
  double fpr = 0.0;
  double j = 0.0;  ///< tpr - fpr
};
YoudenPoint youden(const std::vector<int>& labels, const std::vector<double>& scores);
/// youden(labels, scores).threshold, for `--threshold youden`.
double youden_threshold(const std::vector<int>& labels, const std::vector<double>& scores);

/// The operating point scikit-learn's roc_curve(drop_intermediate=False) implies for a target
/// sensitivity: the first (highest-threshold) point of the curve, after its artificial
/// (0, 0) point, with tpr >= target, i.e. the most specific point that reaches it. For a
/// target specificity: the last point with fpr <= 1 - target, i.e. the most sensitive point
/// that keeps it. tpr and fpr are computed and compared in double as sklearn does. Use
/// `score >= threshold`. Throws mura::Error when only one class is present, and, for a
/// specificity, when only "call nothing abnormal" keeps it (no observed score does).
struct OperatingPoint {
  double threshold = 0.0;
  double tpr = 0.0;  ///< sensitivity at the threshold
  double fpr = 0.0;  ///< 1 - specificity at the threshold
};
OperatingPoint point_for_sensitivity(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double target);
OperatingPoint point_for_specificity(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double target);

// ---------------------------------------------------------------- thresholded metrics

/// sklearn.metrics.confusion_matrix(labels, preds, labels=[0, 1]): [[TN, FP], [FN, TP]],
/// rows = true class, columns = predicted class.
struct ConfusionMatrix {
  std::int64_t tn = 0, fp = 0, fn = 0, tp = 0;
  std::array<std::array<std::int64_t, 2>, 2> table() const { return {{{tn, fp}, {fn, tp}}}; }
  std::int64_t total() const { return tn + fp + fn + tp; }
};
ConfusionMatrix confusion_matrix(const std::vector<int>& labels, const std::vector<int>& preds);

/// sklearn.metrics.accuracy_score: share of predictions equal to the label.
double accuracy(const std::vector<int>& labels, const std::vector<int>& preds);
/// Recall of class 1, TP / (TP + FN). No positive labels: NaN, reason "no abnormal labels"
/// (sklearn's recall_score gives 0.0 with a warning).
Score sensitivity(const std::vector<int>& labels, const std::vector<int>& preds);
/// Recall of class 0, TN / (TN + FP). No negative labels: NaN, reason "no normal labels".
Score specificity(const std::vector<int>& labels, const std::vector<int>& preds);

/// sklearn.metrics.cohen_kappa_score (unweighted): 1 - sum(off-diagonal observed) /
/// sum(off-diagonal expected), expected = outer(column sums, row sums) / n.
/// Labels and predictions all one and the same class: sklearn's 1x1 matrix gives 0/0 = NaN
/// (a RuntimeWarning); we return NaN, reason "labels and predictions are all one class".
Score cohen_kappa(const std::vector<int>& labels, const std::vector<int>& preds);

/// The same metrics from a confusion matrix (throws mura::Error when it is empty or has a
/// negative count).
Score cohen_kappa(const ConfusionMatrix& m);
Score sensitivity(const ConfusionMatrix& m);
Score specificity(const ConfusionMatrix& m);

/// One row of classification_report.
struct ClassScores {
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  std::int64_t support = 0;  ///< number of true items of the class (the whole set for averages)
};

/// The numbers of sklearn.metrics.classification_report(labels, preds, labels=[0, 1],
/// output_dict=True), zero_division="warn": precision (recall) of a class with no predicted
/// (true) items is 0.0, and F1 is 0.0 when precision + recall is 0.
struct ClassificationReport {
  std::array<ClassScores, 2> classes;  ///< [0] = class 0 (normal), [1] = class 1 (abnormal)
  double accuracy = 0.0;
  ClassScores macro_avg;     ///< unweighted mean of the two classes
  ClassScores weighted_avg;  ///< mean weighted by support
};
ClassificationReport classification_report(const std::vector<int>& labels,
                                           const std::vector<int>& preds);
ClassificationReport classification_report(const ConfusionMatrix& m);

/// Text in the layout sklearn's classification_report(..., target_names, digits) prints
/// (identical to the character when both classes occur; see the file comment otherwise).
std::string format_classification_report(
    const ClassificationReport& report,
    const std::array<std::string, 2>& target_names = {"normal", "abnormal"}, int digits = 4);

// ---------------------------------------------------------------- everything at once

/// All metrics of one set of predictions at one threshold.
struct BinaryMetrics {
  std::size_t n = 0;
  std::size_t n_pos = 0;  ///< labels == 1 (abnormal)
  std::size_t n_neg = 0;  ///< labels == 0 (normal)
  double threshold = 0.5;
  double accuracy = 0.0;
  Score auroc;
  Score average_precision;
  Score kappa;
  Score sensitivity;  ///< recall of class 1
  Score specificity;  ///< recall of class 0
  ConfusionMatrix confusion;
  ClassificationReport report;  ///< per-class precision/recall/f1/support, macro, weighted
};

/// Computes every field of BinaryMetrics, predictions `score >= threshold`.
/// Throws mura::Error for invalid input (see the file comment) or a non-finite threshold.
BinaryMetrics compute_binary_metrics(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double threshold = 0.5);

/// Throws mura::Error unless labels/scores are non-empty, of equal size, labels 0/1 and
/// scores finite. `what` starts the message ("metrics", "study AUROC", ...).
void validate_inputs(const std::vector<int>& labels, const std::vector<double>& scores,
                     const std::string& what = "metrics");

}  // namespace mura::eval
