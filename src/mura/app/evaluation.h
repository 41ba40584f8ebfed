#pragma once
/// `mura evaluate` as a composition: checkpoints -> data set and split -> loaders (one per
/// input geometry of the ensemble) -> probabilities -> eval::summarize -> files.
#include <cstdint>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"

namespace mura::app {

struct EvaluateOptions {
  std::string data_dir;
  std::vector<std::string> checkpoints;  ///< one, or several (ensemble: mean probability)
  std::string output_dir;                ///< default: the first checkpoint's folder
  std::string split = "valid";           ///< valid | heldout (the checkpoint's patient split)
  std::vector<std::string> tasks;
  bool skip_bad = false;
  data::DicomTreeOptions dicom;  ///< when data_dir is a DICOM tree (its split is set here)
  std::string dicom_window;      ///< DecodeOptions::dicom_window
  /// "checkpoint": the (first) checkpoint's threshold, 0.5 unless `mura calibrate` or
  /// `train --threshold` chose one; a number in (0,1); or a rule applied to these studies
  /// (eval::parse_threshold_rule: youden, sensitivity:X, specificity:X)
  std::string threshold = "checkpoint";
  bool tta_flip = false;
  std::size_t bootstrap = 1000;  ///< resamples; 0 disables
  std::uint64_t seed = 42;       ///< bootstrap seed
  int batch_size = 32;
  RuntimeOptions runtime;
};

struct EvaluateResult {
  std::string report;        ///< text for the terminal
  std::string metrics_json;  ///< what metrics.json holds
  std::string output_dir;
  double study_auroc = 0;  ///< NaN when undefined
  double image_auroc = 0;
};

/// Evaluates and writes metrics.json, predictions_images.csv and predictions_studies.csv
/// (eval/summary.h) atomically into the output folder.
EvaluateResult run_evaluation(const EvaluateOptions& options, Sink& sink = null_sink());

}  // namespace mura::app
