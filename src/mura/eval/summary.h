#pragma once
/// What an evaluation writes and prints, from its predictions: metrics.json (format_version
/// util/versions.h), the two prediction CSVs and the terminal report.
///
///   metrics.json              format_version, run identity, image/study metrics, per body
///                             part, bootstrap CIs for study AUROC and kappa, calibration
///                             (before and after temperature scaling when a model has it)
///   predictions_images.csv    path,body_part,study,label,probability (header)
///   predictions_studies.csv   MURA's submission form: study_path,label (no header), label =
///                             the predicted class at the threshold
/// Pure: no model, no files; app::run_evaluation (app/evaluation.h) runs the models and
/// writes what this returns.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mura/eval/metrics.h"
#include "mura/util/names.h"

namespace mura::eval {

/// The official valid split, or the checkpoint's held-out patients of train.
const NameTable<std::string>& evaluation_split_names();

/// `--threshold`: a number in (0, 1); or an operating point chosen on the evaluated
/// studies: "youden" (max TPR - FPR), "sensitivity:X" (the most specific point whose
/// sensitivity is at least X), "specificity:X" (the most sensitive point whose specificity is
/// at least X), X in (0, 1]; the rules are eval/metrics.h's, equal to what scikit-learn's
/// roc_curve implies.
struct ThresholdRule {
  enum class Kind { Value, Youden, Sensitivity, Specificity };
  Kind kind = Kind::Value;
  double value = 0.5;   ///< Kind::Value
  double target = 0.0;  ///< Kind::Sensitivity / Specificity
  /// "fixed", "youden", "sensitivity:0.9", "specificity:0.95"
  std::string describe() const;
  /// The threshold the rule gives on these labelled scores (value itself for Kind::Value).
  double choose(const std::vector<int>& labels, const std::vector<double>& scores) const;
};
/// Throws mura::Error naming --threshold for anything else.
ThresholdRule parse_threshold_rule(const std::string& text);

/// One evaluated image: what it is and the (ensemble) probability.
struct EvaluatedImage {
  std::string path;  ///< the MURA-relative path (predictions_images.csv's first column)
  std::string study, body_part;
  int label = 0;
  double probability = 0;
  /// P(abnormal) at temperature 1, when a model of the run is temperature-scaled (NaN when
  /// none is): metrics.json then shows calibration before and after the scaling.
  double uncalibrated = std::numeric_limits<double>::quiet_NaN();
};

/// The run's identity, as metrics.json records it.
struct RunIdentity {
  std::vector<std::string> checkpoints, architectures;
  std::string data_dir;  ///< the data set's root
  std::string split;     ///< valid | heldout
  std::vector<std::string> tasks;
  bool tta_flip = false;
  std::string precision = "fp32";
  bool channels_last = true, fold_batchnorm = true;
  std::vector<double> temperatures;  ///< each checkpoint's (1 = not scaled)
};

struct SummaryOptions {
  ThresholdRule threshold;
  /// For a fixed threshold: where it comes from ("the checkpoint's: sensitivity:0.9 on ...");
  /// "" = given on the command line ("fixed").
  std::string threshold_origin;
  std::size_t bootstrap = 1000;  ///< resamples; 0 disables the intervals
  std::uint64_t seed = 42;       ///< bootstrap seed
};

struct Summary {
  std::string metrics_json;  ///< metrics.json's text
  std::string images_csv, studies_csv;
  std::string report;  ///< the text for the terminal (without the "wrote" line)
  double threshold = 0.5;
  double study_auroc = 0, image_auroc = 0;  ///< NaN when undefined
};

/// Metrics at image and study level (study = mean of its images), per body part, bootstrap
/// intervals and calibration, as text and files.
Summary summarize(const std::vector<EvaluatedImage>& images, const RunIdentity& run,
                  const SummaryOptions& options);

}  // namespace mura::eval
