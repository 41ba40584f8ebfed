#pragma once
/// `mura predict` and `mura explain` as compositions: input images -> loader -> model(s) ->
/// probabilities per image and study, and for explain the Grad-CAM pictures.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mura/data/input_files.h"
#include "mura/explain/gradcam.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"

namespace mura::app {

struct PredictOptions {
  std::vector<std::string> checkpoints;  ///< one, or several (ensemble: mean probability)
  double threshold = -1;                 ///< < 0: the (first) checkpoint's threshold
  bool tta_flip = false;
  int batch_size = 16;
  RuntimeOptions runtime;
  std::string dicom_window;  ///< DecodeOptions::dicom_window
  std::string gradcam_dir;   ///< non-empty: write Grad-CAM pictures there
  explain::CamMethod method = explain::CamMethod::GradCam;
  double alpha = 0.4;
};

struct ImageResult {
  std::string path, study, body_part;
  double probability = 0;  ///< NaN when the image could not be read
  int label = 0;           ///< 1 abnormal, 0 normal (at the threshold)
  std::string error;       ///< why the image could not be used; empty when fine
};

struct StudyResult {
  std::string study, body_part;
  double probability = 0;  ///< mean over its readable images
  int label = 0;
  std::size_t n_images = 0;
};

struct PredictResult {
  std::vector<ImageResult> images;
  std::vector<StudyResult> studies;
  double threshold = 0.5;
  std::string threshold_origin;      ///< "--threshold", or the checkpoint's (how it was chosen)
  std::string precision;             ///< what ran: fp32 | bf16 | fp16
  std::vector<std::string> written;  ///< Grad-CAM files written
};

/// Runs the model(s) over the inputs (and writes Grad-CAM pictures when gradcam_dir is set).
/// Unreadable images are reported in their result, never thrown; a bad checkpoint or option
/// throws mura::Error.
PredictResult run_prediction(const std::vector<data::InputImage>& inputs,
                             const PredictOptions& options, Sink& sink = null_sink());

/// run_prediction with Grad-CAM pictures: `options.gradcam_dir` must be set (mura::Error
/// naming --output-dir otherwise).
PredictResult run_explanation(const std::vector<data::InputImage>& inputs,
                              const PredictOptions& options, Sink& sink = null_sink());

}  // namespace mura::app
