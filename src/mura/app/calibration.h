#pragma once
/// `mura calibrate` as a composition: a checkpoint and labelled studies (the official valid
/// split, or the checkpoint's held-out patients) -> the model's abnormal logits -> temperature
/// scaling fitted on them (eval/temperature.h) -> an operating point chosen on the scaled
/// study probabilities (eval/summary.h's rules) with the bootstrap intervals of its
/// sensitivity and specificity -> the checkpoint written again with spec.temperature,
/// spec.threshold and the record that justifies them (weights::CalibrationRecord).
/// `mura train --calibrate / --threshold RULE` runs it on best.ckpt at the end of training.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"

namespace mura::app {

struct CalibrateOptions {
  std::string data_dir;
  std::string checkpoint;
  /// the calibrated checkpoint; "" = <checkpoint's name without .ckpt>.calibrated.ckpt beside
  /// it. It may be the input itself (replaced atomically).
  std::string output;
  std::string split = "valid";  ///< valid | heldout (evaluate's split names)
  std::vector<std::string> tasks;
  bool skip_bad = false;
  data::DicomTreeOptions dicom;
  std::string dicom_window;
  bool fit_temperature = true;  ///< false: keep the checkpoint's temperature
  /// the operating point, chosen on these studies after scaling: youden, sensitivity:X,
  /// specificity:X or a number; "" = the checkpoint's own rule again when it has one, else
  /// its threshold as it is
  std::string threshold;
  std::size_t bootstrap = 1000;  ///< resamples for the sensitivity/specificity intervals; 0: none
  std::uint64_t seed = 42;       ///< bootstrap seed
  int batch_size = 32;
  RuntimeOptions runtime;
};

struct CalibrateResult {
  std::string report;  ///< text for the terminal
  std::string output;  ///< the checkpoint written
  weights::ModelSpec spec;
};

/// Fits, chooses and writes as the file comment says; reports progress to `sink`. Throws
/// mura::Error for bad options, data without both labels, an unreadable checkpoint or an
/// output that cannot be written (the input is never left half-written).
CalibrateResult run_calibration(const CalibrateOptions& options, Sink& sink = null_sink());

}  // namespace mura::app
