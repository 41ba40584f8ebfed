#pragma once
/// Per-image transforms on the 8-bit gray plane, in the seeds' order:
///   resize to size x size -> random horizontal flip -> random rotation -> brightness /
///   contrast jitter -> ImageNet normalisation, replicated to 3 channels.
/// Randomness comes only from the sample seed (see sample_seed), so a sample's
/// augmentation depends on (seed, epoch, index) and nothing else: runs repeat exactly,
/// whatever the number of worker threads.
#include <array>
#include <cstdint>
#include <opencv2/core/mat.hpp>

namespace mura::data {

struct TransformOptions {
  int size = 224;               ///< output side; the MURA paper uses 320
  bool hflip = false;           ///< flip left-right with probability 0.5
  double rotate_degrees = 0.0;  ///< rotate by U(-d, d) degrees, bilinear, black fill
  double brightness = 0.0;      ///< multiply by U(1-b, 1+b), like ColorJitter(brightness=b)
  double contrast = 0.0;        ///< blend with the mean by U(1-c, 1+c), like ColorJitter
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  ///< ImageNet RGB mean
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};   ///< ImageNet RGB std

  bool augments() const { return hflip || rotate_degrees > 0 || brightness > 0 || contrast > 0; }
  /// The seeds' training transforms: flip + rotation of 10 degrees.
  static TransformOptions training(int size = 224);
  /// Evaluation: resize and normalise only.
  static TransformOptions evaluation(int size = 224);
};

/// The seed of one sample's augmentation.
std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index);

/// Resizes to size x size (area interpolation when shrinking, bilinear when enlarging;
/// aspect ratio is not kept, as with torchvision's Resize((size, size))).
cv::Mat resize_square(const cv::Mat& gray, int size);

/// Applies the random part (flip, rotation, jitter) to a resized CV_8UC1 image.
cv::Mat augment(const cv::Mat& resized, const TransformOptions& options, std::uint64_t seed);

/// Writes the normalised image as 3 planes of float (CHW, contiguous) at `out`, which must
/// hold 3 * rows * cols floats: out[c][y][x] = (v / 255 - mean[c]) / std[c].
void normalize_into(const cv::Mat& gray, const TransformOptions& options, float* out);
/// The same values interleaved (HWC: the channels-last layout of a [3,H,W] image):
/// out[(y * cols + x) * 3 + c].
void normalize_into_interleaved(const cv::Mat& gray, const TransformOptions& options, float* out);

}  // namespace mura::data
