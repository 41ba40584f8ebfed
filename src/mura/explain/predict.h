#pragma once
/// `mura predict` and `mura explain`: probabilities for images, studies and folder trees,
/// with optional Grad-CAM pictures.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mura/explain/gradcam.h"

namespace mura::explain {

/// One image to predict, with what its path tells.
struct PredictInput {
  std::filesystem::path file;
  std::string study;      ///< the image's folder
  std::string body_part;  ///< the first XR_* component of the path, upper-cased; "" if none
};

/// Expands paths: a file is itself (whatever its extension: a non-image then fails in
/// prediction and is reported); a folder is every PNG/JPEG below it, at any depth, in sorted
/// order, ignoring hidden files (._*, .DS_Store). A path that does not exist is added to
/// `problems`.
std::vector<PredictInput> collect_inputs(const std::vector<std::string>& paths,
                                         std::vector<std::string>& problems);

struct PredictOptions {
  std::vector<std::string> checkpoints;  ///< one, or several (ensemble: mean probability)
  double threshold = -1;                 ///< < 0: the (first) checkpoint's threshold
  bool tta_flip = false;
  std::string device = "auto";
  int batch_size = 16;
  int workers = -1;                      ///< < 0: chosen (util/threads.h)
  int threads = 0;                       ///< compute threads; 0: chosen
  std::string precision = "auto";        ///< auto | fp32 | bf16 | fp16 | amp (util/precision.h)
  bool channels_last = true;
  bool fold_batchnorm = true;            ///< fold BatchNorm into convolutions (inference only)
  std::string gradcam_dir;               ///< non-empty: write Grad-CAM pictures there
  CamMethod method = CamMethod::GradCam;
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
  std::string precision;             ///< what ran: fp32 | bf16 | fp16
  std::vector<std::string> written;  ///< Grad-CAM files written
};

/// Runs the model(s) over the inputs. Unreadable images are reported in their result, never
/// thrown; a bad checkpoint or option throws mura::Error.
PredictResult predict(const std::vector<PredictInput>& inputs, const PredictOptions& options);

}  // namespace mura::explain
