#pragma once
/// Per-image transforms on the 8-bit gray plane, in torchvision's usual order:
///   resize to size x size (what the loader caches) -> random resized crop -> random
///   horizontal flip -> random rotation -> brightness / contrast jitter -> ImageNet
///   normalisation, replicated to 3 channels -> random erasing.
/// Randomness comes only from the sample seed (see sample_seed), so a sample's
/// augmentation depends on (seed, epoch, index) and nothing else: runs repeat exactly,
/// whatever the number of worker threads.
#include <array>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>

namespace mura {
class Rng;
}

namespace mura::data {

/// A box in an image: top row, left column, height, width (pixels).
struct Box {
  int top = 0, left = 0, height = 0, width = 0;
};

struct TransformOptions {
  int size = 224;               ///< output side; the MURA paper uses 320
  bool hflip = false;           ///< flip left-right with probability 0.5
  double rotate_degrees = 0.0;  ///< rotate by U(-d, d) degrees, bilinear, black fill
  double brightness = 0.0;      ///< multiply by U(1-b, 1+b), like ColorJitter(brightness=b)
  double contrast = 0.0;        ///< blend with the mean by U(1-c, 1+c), like ColorJitter
  /// RandomResizedCrop: a box of U(crop_scale, 1) of the square's area and an aspect ratio
  /// exp(U(log 3/4, log 4/3)), resized back to size x size (bilinear); 1 = off
  /// (torchvision's default scale is 0.08). It crops the cached square, the resolution the
  /// model sees: a crop is enlarged from it, not from the original picture.
  double crop_scale = 1.0;
  /// RandomErasing's probability (0 = off): a box of 2-33% of the area, aspect ratio
  /// 0.3-3.3, set to 0 after normalisation (torchvision's value=0: the channel means).
  double erasing = 0.0;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  ///< ImageNet RGB mean
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};   ///< ImageNet RGB std

  bool augments() const {
    return hflip || rotate_degrees > 0 || brightness > 0 || contrast > 0 || crop_scale < 1;
  }
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

/// Applies the random part before normalisation (resized crop, flip, rotation, jitter) to a
/// resized CV_8UC1 image. Each augmentation draws from its own stream of `seed`, so that
/// turning one on never changes what another draws.
cv::Mat augment(const cv::Mat& resized, const TransformOptions& options, std::uint64_t seed);

/// torchvision's RandomResizedCrop.get_params: 10 tries of an area U(scale_min, scale_max)
/// of the image and an aspect ratio exp(U(log ratio_min, log ratio_max)), sides rounded half
/// to even as Python's round(); a box that fits is placed uniformly; else the centre crop
/// of the image clamped to the ratio range.
Box random_resized_crop_box(int height, int width, double scale_min, double scale_max,
                            double ratio_min, double ratio_max, Rng& rng);
/// The box of `gray` resized to size x size, bilinear (torchvision's resized_crop on a
/// tensor, antialias off: the same sampling positions).
cv::Mat resized_crop(const cv::Mat& gray, const Box& box, int size);

/// torchvision's RandomErasing: with probability `p`, 10 tries of an area of 2-33% and an
/// aspect ratio exp(U(log 0.3, log 3.3)), sides rounded half to even, kept when both are
/// smaller than the image's and placed uniformly; nullopt when not erasing (or no try fit).
std::optional<Box> random_erasing_box(int height, int width, double p, Rng& rng);
/// The erasing of one sample: random_erasing_box(size, size, options.erasing) from its own
/// stream of `seed`; nullopt when options.erasing is 0 or nothing is erased.
std::optional<Box> erasing_box(const TransformOptions& options, std::uint64_t seed);
/// Sets the box to 0 in the 3 normalised planes written by normalize_into (or, with
/// `interleaved`, by normalize_into_interleaved) of a size x size image.
void erase_normalized(float* out, int size, const Box& box, bool interleaved);

/// Writes the normalised image as 3 planes of float (CHW, contiguous) at `out`, which must
/// hold 3 * rows * cols floats: out[c][y][x] = (v / 255 - mean[c]) / std[c].
void normalize_into(const cv::Mat& gray, const TransformOptions& options, float* out);
/// The same values interleaved (HWC: the channels-last layout of a [3,H,W] image):
/// out[(y * cols + x) * 3 + c].
void normalize_into_interleaved(const cv::Mat& gray, const TransformOptions& options, float* out);

}  // namespace mura::data
