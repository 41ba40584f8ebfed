#include "mura/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "mura/util/error.h"

namespace mura::eval {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string num(std::size_t n) {
  return std::to_string(n);
}

/// "all 37 labels are 1" / "the only label is 1".
std::string all_are(std::size_t n, const std::string& what, int value) {
  if (n == 1) return "the only " + what + " is " + std::to_string(value);
  return "all " + num(n) + " " + what + "s are " + std::to_string(value);
}

Score undefined(std::string reason, std::string detail) {
  Score s;
  s.reason = std::move(reason);
  s.detail = std::move(detail);
  return s;
}

Score defined_score(double v) {
  Score s;
  s.value = v;
  return s;
}

void check_finite(double v, std::size_t i, const std::string& what) {
  if (std::isnan(v)) throw Error(what + ": score at index " + num(i) + " is NaN");
  if (std::isinf(v))
    throw Error(what + ": score at index " + num(i) + " is " + (v > 0 ? "+inf" : "-inf") +
                " (scores must be finite)");
}

void check_binary(const std::vector<int>& v, const std::string& name, const std::string& what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] != 0 && v[i] != 1)
      throw Error(what + ": " + name + " at index " + num(i) + " is " + std::to_string(v[i]) +
                  ", expected 0 or 1");
}

void validate_preds(const std::vector<int>& labels, const std::vector<int>& preds,
                    const std::string& what = "metrics") {
  if (labels.size() != preds.size())
    throw Error(what + ": " + num(labels.size()) + " labels but " + num(preds.size()) +
                " predictions");
  if (labels.empty()) throw Error(what + ": no items (empty input)");
  check_binary(labels, "label", what);
  check_binary(preds, "prediction", what);
}

/// sklearn's _binary_clf_curve: counts at each distinct score, scores in decreasing order.
/// fps[k] / tps[k]: negatives / positives with score >= thresholds[k].
struct ClfCurve {
  std::vector<std::int64_t> fps, tps;
  std::vector<double> thresholds;
  std::int64_t n_pos = 0, n_neg = 0;
};

ClfCurve binary_clf_curve(const std::vector<int>& labels, const std::vector<double>& scores) {
  validate_inputs(labels, scores);
  const std::size_t n = labels.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  ClfCurve c;
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k];
    if (labels[i] == 1)
      ++tp;
    else
      ++fp;
    // The last item of a run of equal scores closes a threshold (np.diff(y_score) != 0).
    if (k + 1 == n || scores[order[k + 1]] != scores[i]) {
      c.fps.push_back(fp);
      c.tps.push_back(tp);
      c.thresholds.push_back(scores[i]);
    }
  }
  c.n_pos = tp;
  c.n_neg = fp;
  return c;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

bool Score::defined() const {
  return !std::isnan(value);
}

std::string Score::format(int digits) const {
  if (!defined()) return "n/a (" + (reason.empty() ? std::string("undefined") : reason) + ")";
  return fixed(value, digits);
}

void validate_inputs(const std::vector<int>& labels, const std::vector<double>& scores,
                     const std::string& what) {
  if (labels.size() != scores.size())
    throw Error(what + ": " + num(labels.size()) + " labels but " + num(scores.size()) + " scores");
  if (labels.empty()) throw Error(what + ": no items (empty input)");
  check_binary(labels, "label", what);
  for (std::size_t i = 0; i < scores.size(); ++i) check_finite(scores[i], i, what);
}

std::vector<int> predict(const std::vector<double>& scores, double threshold) {
  if (std::isnan(threshold)) throw Error("metrics: the threshold is NaN");
  std::vector<int> p(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    check_finite(scores[i], i, "metrics");
    p[i] = scores[i] >= threshold ? 1 : 0;
  }
  return p;
}

// ---------------------------------------------------------------- ranking metrics

namespace {

Score auc_of(const ClfCurve& c, std::size_t n) {
  if (c.n_pos == 0 || c.n_neg == 0)
    return undefined(
        "only one class present",
        "AUROC undefined: " + all_are(n, "label", c.n_pos ? 1 : 0) + " (only one class present)");
  // Trapezoids between consecutive distinct thresholds, from (0, 0), in integer units:
  // sum (dfps) * (tps + tps_prev) / (2 * n_pos * n_neg). The numerator is an integer, exact
  // in a double up to 2^53, so the result is the correctly rounded area.
  double twice_area = 0.0;
  std::int64_t prev_fp = 0, prev_tp = 0;
  for (std::size_t k = 0; k < c.fps.size(); ++k) {
    twice_area += static_cast<double>((c.fps[k] - prev_fp) * (c.tps[k] + prev_tp));
    prev_fp = c.fps[k];
    prev_tp = c.tps[k];
  }
  return defined_score(twice_area /
                       (2.0 * static_cast<double>(c.n_pos) * static_cast<double>(c.n_neg)));
}

Score ap_of(const ClfCurve& c, std::size_t n) {
  if (c.n_pos == 0)
    return undefined("no positive labels", "average precision undefined: " +
                                               all_are(n, "label", 0) + " (no positive labels)");
  double ap = 0.0, prev_recall = 0.0;
  const double p_total = static_cast<double>(c.n_pos);
  for (std::size_t k = 0; k < c.tps.size(); ++k) {
    const double recall = static_cast<double>(c.tps[k]) / p_total;
    const double precision =
        static_cast<double>(c.tps[k]) / static_cast<double>(c.tps[k] + c.fps[k]);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return defined_score(ap);
}

}  // namespace

Score roc_auc(const std::vector<int>& labels, const std::vector<double>& scores) {
  return auc_of(binary_clf_curve(labels, scores), labels.size());
}

Score average_precision(const std::vector<int>& labels, const std::vector<double>& scores) {
  return ap_of(binary_clf_curve(labels, scores), labels.size());
}

RocCurve roc_curve(const std::vector<int>& labels, const std::vector<double>& scores,
                   bool drop_intermediate) {
  const ClfCurve c = binary_clf_curve(labels, scores);
  const std::size_t k_all = c.fps.size();
  std::vector<std::size_t> keep;
  keep.reserve(k_all);
  for (std::size_t k = 0; k < k_all; ++k) {
    bool corner = true;
    if (drop_intermediate && k_all > 2 && k > 0 && k + 1 < k_all) {
      const std::int64_t d2f = c.fps[k + 1] - 2 * c.fps[k] + c.fps[k - 1];
      const std::int64_t d2t = c.tps[k + 1] - 2 * c.tps[k] + c.tps[k - 1];
      corner = d2f != 0 || d2t != 0;
    }
    if (corner) keep.push_back(k);
  }
  RocCurve r;
  r.fpr.reserve(keep.size() + 1);
  r.tpr.reserve(keep.size() + 1);
  r.thresholds.reserve(keep.size() + 1);
  const double fp_total = static_cast<double>(c.n_neg), tp_total = static_cast<double>(c.n_pos);
  r.fpr.push_back(c.n_neg > 0 ? 0.0 : kNaN);
  r.tpr.push_back(c.n_pos > 0 ? 0.0 : kNaN);
  r.thresholds.push_back(c.thresholds[0] + 1.0);
  for (std::size_t k : keep) {
    r.fpr.push_back(c.n_neg > 0 ? static_cast<double>(c.fps[k]) / fp_total : kNaN);
    r.tpr.push_back(c.n_pos > 0 ? static_cast<double>(c.tps[k]) / tp_total : kNaN);
    r.thresholds.push_back(c.thresholds[k]);
  }
  return r;
}

PrCurve precision_recall_curve(const std::vector<int>& labels, const std::vector<double>& scores) {
  const ClfCurve c = binary_clf_curve(labels, scores);
  const std::size_t k_all = c.fps.size();
  PrCurve r;
  r.precision.reserve(k_all + 1);
  r.recall.reserve(k_all + 1);
  r.thresholds.reserve(k_all);
  for (std::size_t j = k_all; j-- > 0;) {
    r.precision.push_back(static_cast<double>(c.tps[j]) / static_cast<double>(c.tps[j] + c.fps[j]));
    r.recall.push_back(c.n_pos > 0 ? static_cast<double>(c.tps[j]) / static_cast<double>(c.n_pos)
                                   : 1.0);
    r.thresholds.push_back(c.thresholds[j]);
  }
  r.precision.push_back(1.0);
  r.recall.push_back(0.0);
  return r;
}

YoudenPoint youden(const std::vector<int>& labels, const std::vector<double>& scores) {
  const ClfCurve c = binary_clf_curve(labels, scores);
  if (c.n_pos == 0 || c.n_neg == 0)
    throw Error("Youden threshold undefined: " + all_are(labels.size(), "label", c.n_pos ? 1 : 0) +
                " (only one class present); give a numeric threshold instead");
  // J * n_pos * n_neg = tps * n_neg - fps * n_pos: exact integer comparison, so ties are
  // real ties. Thresholds decrease along the curve: keeping the first strict maximum gives
  // the highest threshold among the maximisers.
  std::size_t best = 0;
  std::int64_t best_j = 0;
  for (std::size_t k = 0; k < c.fps.size(); ++k) {
    const std::int64_t j = c.tps[k] * c.n_neg - c.fps[k] * c.n_pos;
    if (k == 0 || j > best_j) {
      best = k;
      best_j = j;
    }
  }
  YoudenPoint y;
  y.threshold = c.thresholds[best];
  y.tpr = static_cast<double>(c.tps[best]) / static_cast<double>(c.n_pos);
  y.fpr = static_cast<double>(c.fps[best]) / static_cast<double>(c.n_neg);
  y.j = y.tpr - y.fpr;
  return y;
}

double youden_threshold(const std::vector<int>& labels, const std::vector<double>& scores) {
  return youden(labels, scores).threshold;
}

namespace {

/// The full ROC curve without its artificial first point, checked for both classes.
RocCurve observed_points(const std::vector<int>& labels, const std::vector<double>& scores,
                         const std::string& rule) {
  RocCurve r = roc_curve(labels, scores, /*drop_intermediate=*/false);
  const auto n_pos = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
  if (n_pos == 0 || n_pos == labels.size())
    throw Error(rule + " threshold undefined: " + all_are(labels.size(), "label", n_pos ? 1 : 0) +
                " (only one class present); give a numeric threshold instead");
  r.fpr.erase(r.fpr.begin());
  r.tpr.erase(r.tpr.begin());
  r.thresholds.erase(r.thresholds.begin());
  return r;
}

}  // namespace

OperatingPoint point_for_sensitivity(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double target) {
  const RocCurve r = observed_points(labels, scores, "sensitivity");
  for (std::size_t k = 0; k < r.tpr.size(); ++k)
    if (r.tpr[k] >= target) return {r.thresholds[k], r.tpr[k], r.fpr[k]};
  // tpr reaches 1 at the lowest score, so only a target above 1 gets here
  throw Error("sensitivity " + std::to_string(target) + " cannot be reached");
}

OperatingPoint point_for_specificity(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double target) {
  const RocCurve r = observed_points(labels, scores, "specificity");
  for (std::size_t k = r.fpr.size(); k-- > 0;)
    if (r.fpr[k] <= 1.0 - target) return {r.thresholds[k], r.tpr[k], r.fpr[k]};
  throw Error("specificity " + std::to_string(target) +
              " is kept only by calling nothing abnormal: the highest-scored normal study "
              "already costs " +
              std::to_string(1.0 - r.fpr.front()) +
              " specificity points below 1 (more normal studies, or a lower target)");
}

// ---------------------------------------------------------------- thresholded metrics

ConfusionMatrix confusion_matrix(const std::vector<int>& labels, const std::vector<int>& preds) {
  validate_preds(labels, preds);
  ConfusionMatrix m;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1) {
      if (preds[i] == 1)
        ++m.tp;
      else
        ++m.fn;
    } else {
      if (preds[i] == 1)
        ++m.fp;
      else
        ++m.tn;
    }
  }
  return m;
}

double accuracy(const std::vector<int>& labels, const std::vector<int>& preds) {
  const ConfusionMatrix m = confusion_matrix(labels, preds);
  return static_cast<double>(m.tp + m.tn) / static_cast<double>(m.total());
}

namespace {

void check_matrix(const ConfusionMatrix& m) {
  if (m.tn < 0 || m.fp < 0 || m.fn < 0 || m.tp < 0)
    throw Error("metrics: confusion matrix has a negative count");
  if (m.total() == 0) throw Error("metrics: confusion matrix is empty (no items)");
}

Score sensitivity_of(const ConfusionMatrix& m) {
  const std::int64_t pos = m.tp + m.fn;
  if (pos == 0)
    return undefined(
        "no abnormal labels",
        "sensitivity undefined: " + all_are(static_cast<std::size_t>(m.total()), "label", 0) +
            " (no abnormal labels)");
  return defined_score(static_cast<double>(m.tp) / static_cast<double>(pos));
}

Score specificity_of(const ConfusionMatrix& m) {
  const std::int64_t neg = m.tn + m.fp;
  if (neg == 0)
    return undefined(
        "no normal labels",
        "specificity undefined: " + all_are(static_cast<std::size_t>(m.total()), "label", 1) +
            " (no normal labels)");
  return defined_score(static_cast<double>(m.tn) / static_cast<double>(neg));
}

Score kappa_of(const ConfusionMatrix& m) {
  const std::int64_t n = m.total();
  const std::int64_t pred0 = m.tn + m.fn, pred1 = m.fp + m.tp;  // column sums (sum0)
  const std::int64_t true0 = m.tn + m.fp, true1 = m.fn + m.tp;  // row sums (sum1)
  if ((pred0 == 0 && true0 == 0) || (pred1 == 0 && true1 == 0)) {
    const int cls = pred1 == 0 ? 0 : 1;
    const std::string all =
        n == 1 ? "the only label and prediction are " + std::to_string(cls)
               : "all " + std::to_string(n) + " labels and predictions are " + std::to_string(cls);
    return undefined("labels and predictions are all one class",
                     "Cohen's kappa undefined: " + all + " (chance agreement is 1, kappa is 0/0)");
  }
  // As sklearn: expected = outer(sum0, sum1) / n; k = sum(w * observed) / sum(w * expected)
  // with w = 1 off the diagonal; kappa = 1 - k.
  const double nd = static_cast<double>(n);
  const double e01 = static_cast<double>(pred0 * true1) / nd;
  const double e10 = static_cast<double>(pred1 * true0) / nd;
  const double observed = static_cast<double>(m.fp + m.fn);
  return defined_score(1.0 - observed / ((0.0 + e01) + e10));
}

ClassScores class_scores(std::int64_t tp, std::int64_t predicted, std::int64_t truth) {
  ClassScores s;
  s.precision = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
  s.recall = truth ? static_cast<double>(tp) / static_cast<double>(truth) : 0.0;
  double denom = s.precision + s.recall;
  if (denom == 0.0) denom = 1.0;
  s.f1 = 2.0 * s.precision * s.recall / denom;
  s.support = truth;
  return s;
}

ClassificationReport report_of(const ConfusionMatrix& m) {
  ClassificationReport r;
  r.classes[0] = class_scores(m.tn, m.tn + m.fn, m.tn + m.fp);
  r.classes[1] = class_scores(m.tp, m.tp + m.fp, m.tp + m.fn);
  const std::int64_t n = m.total();
  r.accuracy = static_cast<double>(m.tp + m.tn) / static_cast<double>(n);
  const ClassScores& a = r.classes[0];
  const ClassScores& b = r.classes[1];
  r.macro_avg = {(a.precision + b.precision) / 2.0, (a.recall + b.recall) / 2.0,
                 (a.f1 + b.f1) / 2.0, n};
  const double wa = static_cast<double>(a.support), wb = static_cast<double>(b.support);
  const double w = wa + wb;  // == n > 0
  r.weighted_avg = {(a.precision * wa + b.precision * wb) / w, (a.recall * wa + b.recall * wb) / w,
                    (a.f1 * wa + b.f1 * wb) / w, n};
  return r;
}

}  // namespace

Score cohen_kappa(const ConfusionMatrix& m) {
  check_matrix(m);
  return kappa_of(m);
}

Score sensitivity(const ConfusionMatrix& m) {
  check_matrix(m);
  return sensitivity_of(m);
}

Score specificity(const ConfusionMatrix& m) {
  check_matrix(m);
  return specificity_of(m);
}

ClassificationReport classification_report(const ConfusionMatrix& m) {
  check_matrix(m);
  return report_of(m);
}

Score sensitivity(const std::vector<int>& labels, const std::vector<int>& preds) {
  return sensitivity_of(confusion_matrix(labels, preds));
}

Score specificity(const std::vector<int>& labels, const std::vector<int>& preds) {
  return specificity_of(confusion_matrix(labels, preds));
}

Score cohen_kappa(const std::vector<int>& labels, const std::vector<int>& preds) {
  return kappa_of(confusion_matrix(labels, preds));
}

ClassificationReport classification_report(const std::vector<int>& labels,
                                           const std::vector<int>& preds) {
  return report_of(confusion_matrix(labels, preds));
}

std::string format_classification_report(const ClassificationReport& report,
                                         const std::array<std::string, 2>& target_names,
                                         int digits) {
  if (digits < 0 || digits > 17)
    throw Error("classification report: digits must be in [0, 17], got " + std::to_string(digits));
  // sklearn: width = max(longest name, len("weighted avg"), digits); every column after the
  // names is " " + right-aligned in 9.
  std::size_t width = std::string("weighted avg").size();
  for (const auto& t : target_names) width = std::max(width, t.size());
  width = std::max(width, static_cast<std::size_t>(digits));
  const int w = static_cast<int>(width);
  char buf[512];
  std::string out;
  auto cell = [&](const std::string& s) {
    std::snprintf(buf, sizeof buf, " %9s", s.c_str());
    out += buf;
  };
  auto name = [&](const std::string& s) {
    std::snprintf(buf, sizeof buf, "%*s ", w, s.c_str());
    out += buf;
  };
  auto row = [&](const std::string& heading, const ClassScores& s) {
    name(heading);
    cell(fixed(s.precision, digits));
    cell(fixed(s.recall, digits));
    cell(fixed(s.f1, digits));
    cell(std::to_string(s.support));
    out += "\n";
  };
  name("");
  for (const char* h : {"precision", "recall", "f1-score", "support"}) cell(h);
  out += "\n\n";
  row(target_names[0], report.classes[0]);
  row(target_names[1], report.classes[1]);
  out += "\n";
  name("accuracy");
  cell("");
  cell("");
  cell(fixed(report.accuracy, digits));
  cell(std::to_string(report.macro_avg.support));
  out += "\n";
  row("macro avg", report.macro_avg);
  row("weighted avg", report.weighted_avg);
  return out;
}

// ---------------------------------------------------------------- everything at once

BinaryMetrics compute_binary_metrics(const std::vector<int>& labels,
                                     const std::vector<double>& scores, double threshold) {
  validate_inputs(labels, scores);
  if (!std::isfinite(threshold))
    throw Error("metrics: the threshold must be finite, got " + std::to_string(threshold));
  BinaryMetrics m;
  m.n = labels.size();
  for (int l : labels) (l == 1 ? m.n_pos : m.n_neg) += 1;
  m.threshold = threshold;
  const std::vector<int> preds = predict(scores, threshold);
  m.confusion = confusion_matrix(labels, preds);
  m.report = report_of(m.confusion);
  m.accuracy = m.report.accuracy;
  const ClfCurve curve = binary_clf_curve(labels, scores);
  m.auroc = auc_of(curve, m.n);
  m.average_precision = ap_of(curve, m.n);
  m.kappa = kappa_of(m.confusion);
  m.sensitivity = sensitivity_of(m.confusion);
  m.specificity = specificity_of(m.confusion);
  return m;
}

}  // namespace mura::eval
