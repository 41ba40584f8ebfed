#pragma once
/// The report's gallery: the images a reader should look at (the model's most confident
/// mistakes and a few of its hits), each with its Grad-CAM overlay as a small JPEG.
#include <cstddef>
#include <filesystem>
#include <limits>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "mura/explain/gradcam.h"
#include "mura/report/inputs.h"

namespace mura::report {

struct GalleryOptions {
  std::size_t false_positives = 6;  ///< most confident: highest P(abnormal) among normal images
  std::size_t false_negatives = 6;  ///< most confident: lowest P(abnormal) among abnormal images
  std::size_t true_positives = 3;   ///< highest P(abnormal) among abnormal images called abnormal
  int thumb_size = 256;             ///< longest side of each picture, px (keeps the page small)
  int jpeg_quality = 80;            ///< 1..100
  explain::CamMethod method = explain::CamMethod::GradCam;
  double alpha = 0.4;  ///< heatmap weight in the overlay
  int batch_size = 8;  ///< Grad-CAM batch
};

/// `--gallery N`: up to N false positives, N false negatives and (N + 1) / 2 true
/// positives; 0 turns the gallery off.
void set_gallery_size(GalleryOptions& options, std::size_t n);

enum class CaseKind { FalsePositive, FalseNegative, TruePositive };
/// "false positive", "false negative", "true positive".
const char* case_kind_name(CaseKind kind);

/// One picture of the gallery.
struct GalleryCase {
  CaseKind kind = CaseKind::TruePositive;
  ImageRow row;                ///< what the evaluation wrote for the image
  std::filesystem::path file;  ///< where it was looked for on disk
  std::string jpeg;            ///< the Grad-CAM overlay, JPEG bytes; empty when `problem` is set
  int width = 0, height = 0;   ///< of the JPEG
  double cam_probability =
      std::numeric_limits<double>::quiet_NaN();  ///< the model's P in the Grad-CAM pass
  std::string problem;  ///< why there is no picture ("image not found on disk: ...")
};

/// Chooses the cases at image level, prediction = `probability >= threshold`, in the order
/// false positives, false negatives, true positives; within a kind the most confident first
/// (ties: by path, so the choice is deterministic). At most the counts in `options`.
std::vector<GalleryCase> select_cases(const std::vector<ImageRow>& rows, double threshold,
                                      const GalleryOptions& options);

/// The overlay scaled so its longest side is `size` px, as JPEG bytes.
std::string encode_thumbnail(const cv::Mat& bgr, int size, int jpeg_quality, int& width,
                             int& height);

}  // namespace mura::report
