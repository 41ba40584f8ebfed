#pragma once
/// `mura evaluate`: image- and study-level metrics of one model or an ensemble on a split.
///
/// Writes into `output_dir`:
///   metrics.json              format_version, run identity, image/study metrics, per body
///                             part, bootstrap CIs for study AUROC and kappa
///   predictions_images.csv    path,body_part,study,label,probability (header)
///   predictions_studies.csv   MURA's submission form: study_path,label (no header), label =
///                             the predicted class at the threshold
/// and returns a human-readable report.
#include <cstdint>
#include <string>
#include <vector>

namespace mura::eval {

struct EvaluateOptions {
  std::string data_dir;
  std::vector<std::string> checkpoints;  ///< one, or several (ensemble: mean probability)
  std::string output_dir;                ///< default: the first checkpoint's folder
  std::string split = "valid";           ///< valid | heldout (the checkpoint's patient split)
  std::vector<std::string> tasks;
  bool skip_bad = false;
  std::string threshold = "0.5";         ///< a number in (0,1), or "youden" (on these studies)
  bool tta_flip = false;
  std::size_t bootstrap = 1000;          ///< resamples; 0 disables
  std::uint64_t seed = 42;               ///< bootstrap seed
  int batch_size = 32;
  int workers = -1;                      ///< < 0: chosen (util/threads.h)
  int threads = 0;                       ///< compute threads; 0: chosen
  std::string device = "auto";
  std::string precision = "auto";        ///< auto | fp32 | bf16 | fp16 | amp (util/precision.h)
  bool channels_last = true;
  bool fold_batchnorm = true;            ///< fold BatchNorm into convolutions for inference
};

struct EvaluateResult {
  std::string report;        ///< text for the terminal
  std::string metrics_json;  ///< what metrics.json holds
  std::string output_dir;
  double study_auroc = 0;    ///< NaN when undefined
  double image_auroc = 0;
};

EvaluateResult evaluate(const EvaluateOptions& options);

}  // namespace mura::eval
