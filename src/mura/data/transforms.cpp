#include "mura/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::data {

TransformOptions TransformOptions::training(int size) {
  TransformOptions t;
  t.size = size;
  t.hflip = true;
  t.rotate_degrees = 10.0;
  return t;
}

TransformOptions TransformOptions::evaluation(int size) {
  TransformOptions t;
  t.size = size;
  return t;
}

std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
  return mix_seed({seed, epoch, index});
}

cv::Mat resize_square(const cv::Mat& gray, int size) {
  if (size <= 0) throw Error("image size must be positive, got " + std::to_string(size));
  if (gray.rows == size && gray.cols == size) return gray.clone();
  cv::Mat out;
  const bool shrink = gray.rows > size && gray.cols > size;
  cv::resize(gray, out, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

namespace {

/// Python's round(): half to even (the default rounding mode of nearbyint).
int round_half_even(double v) {
  return static_cast<int>(std::nearbyint(v));
}

/// The streams of one sample's seed: 0 for flip, rotation and jitter (drawn in a fixed
/// order, used or not, as since the first version), one for each later augmentation.
enum Stream : std::uint64_t { kCropStream = 1, kErasingStream = 2 };

}  // namespace

Box random_resized_crop_box(int height, int width, double scale_min, double scale_max,
                            double ratio_min, double ratio_max, Rng& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int w = round_half_even(std::sqrt(target * aspect));
    const int h = round_half_even(std::sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = static_cast<int>(rng.below(static_cast<std::uint64_t>(height - h + 1)));
      const int left = static_cast<int>(rng.below(static_cast<std::uint64_t>(width - w + 1)));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < ratio_min) {
    h = round_half_even(w / ratio_min);
  } else if (in_ratio > ratio_max) {
    w = round_half_even(h * ratio_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

cv::Mat resized_crop(const cv::Mat& gray, const Box& box, int size) {
  if (box.top < 0 || box.left < 0 || box.height <= 0 || box.width <= 0 ||
      box.top + box.height > gray.rows || box.left + box.width > gray.cols)
    throw InternalError("resized_crop: the box is outside the image");
  cv::Mat out;
  cv::resize(gray(cv::Rect(box.left, box.top, box.width, box.height)), out, cv::Size(size, size), 0,
             0, cv::INTER_LINEAR);
  return out;
}

std::optional<Box> random_erasing_box(int height, int width, double p, Rng& rng) {
  if (!(rng.uniform() < p)) return std::nullopt;
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(0.3), log_hi = std::log(3.3);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase = area * rng.uniform(0.02, 0.33);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int h = round_half_even(std::sqrt(erase * aspect));
    const int w = round_half_even(std::sqrt(erase / aspect));
    if (!(h < height && w < width)) continue;
    const int top = static_cast<int>(rng.below(static_cast<std::uint64_t>(height - h + 1)));
    const int left = static_cast<int>(rng.below(static_cast<std::uint64_t>(width - w + 1)));
    return Box{top, left, h, w};
  }
  return std::nullopt;
}

std::optional<Box> erasing_box(const TransformOptions& o, std::uint64_t seed) {
  if (o.erasing <= 0) return std::nullopt;
  Rng rng(mix_seed({seed, kErasingStream}));
  return random_erasing_box(o.size, o.size, o.erasing, rng);
}

void erase_normalized(float* out, int size, const Box& box, bool interleaved) {
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  for (int y = box.top; y < box.top + box.height; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * size;
    if (interleaved) {
      std::fill(out + (row + box.left) * 3, out + (row + box.left + box.width) * 3, 0.0f);
    } else {
      for (std::size_t c = 0; c < 3; ++c)
        std::fill(out + c * plane + row + box.left, out + c * plane + row + box.left + box.width,
                  0.0f);
    }
  }
}

cv::Mat augment(const cv::Mat& resized, const TransformOptions& o, std::uint64_t seed) {
  // Draw every value in a fixed order, used or not, so that enabling one augmentation
  // never changes the values another one gets.
  Rng rng(seed);
  const bool flip = rng.uniform() < 0.5;
  const double angle = rng.uniform(-1.0, 1.0) * o.rotate_degrees;
  const double bright = 1.0 + rng.uniform(-1.0, 1.0) * o.brightness;
  const double contr = 1.0 + rng.uniform(-1.0, 1.0) * o.contrast;

  cv::Mat img = resized;
  if (o.crop_scale < 1) {
    Rng crop_rng(mix_seed({seed, kCropStream}));
    const Box box = random_resized_crop_box(img.rows, img.cols, o.crop_scale, 1.0, 3.0 / 4.0,
                                            4.0 / 3.0, crop_rng);
    img = resized_crop(img, box, img.rows);
  }
  if (o.hflip && flip) {
    cv::Mat f;
    cv::flip(img, f, 1);
    img = f;
  }
  if (o.rotate_degrees > 0 && angle != 0.0) {
    const cv::Point2f centre(static_cast<float>(img.cols - 1) * 0.5f,
                             static_cast<float>(img.rows - 1) * 0.5f);
    const cv::Mat m = cv::getRotationMatrix2D(centre, angle, 1.0);
    cv::Mat r;
    cv::warpAffine(img, r, m, img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    img = r;
  }
  if (o.brightness > 0) {
    cv::Mat b;
    img.convertTo(b, CV_8U, bright, 0.0);
    img = b;
  }
  if (o.contrast > 0) {
    const double m = cv::mean(img)[0];
    cv::Mat c;
    img.convertTo(c, CV_8U, contr, (1.0 - contr) * m);
    img = c;
  }
  return img.data == resized.data ? resized.clone() : img;
}

namespace {

void fill_lut(const TransformOptions& o, float lut[3][256]) {
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v)
      lut[c][v] = (static_cast<float>(v) / 255.0f - o.mean[c]) / o.std[c];
}

}  // namespace

void normalize_into_interleaved(const cv::Mat& gray, const TransformOptions& o, float* out) {
  CV_Assert(gray.type() == CV_8UC1);
  float lut[3][256];
  fill_lut(o, lut);
  for (int y = 0; y < gray.rows; ++y) {
    const unsigned char* row = gray.ptr<unsigned char>(y);
    float* r = out + static_cast<std::size_t>(y) * gray.cols * 3;
    for (int x = 0; x < gray.cols; ++x) {
      const unsigned char v = row[x];
      r[3 * x] = lut[0][v];
      r[3 * x + 1] = lut[1][v];
      r[3 * x + 2] = lut[2][v];
    }
  }
}

void normalize_into(const cv::Mat& gray, const TransformOptions& o, float* out) {
  CV_Assert(gray.type() == CV_8UC1);
  const std::size_t plane = static_cast<std::size_t>(gray.rows) * gray.cols;
  float lut[3][256];
  fill_lut(o, lut);
  for (int y = 0; y < gray.rows; ++y) {
    const unsigned char* row = gray.ptr<unsigned char>(y);
    float* r0 = out + static_cast<std::size_t>(y) * gray.cols;
    float* r1 = r0 + plane;
    float* r2 = r1 + plane;
    for (int x = 0; x < gray.cols; ++x) {
      const unsigned char v = row[x];
      r0[x] = lut[0][v];
      r1[x] = lut[1][v];
      r2[x] = lut[2][v];
    }
  }
}

}  // namespace mura::data
