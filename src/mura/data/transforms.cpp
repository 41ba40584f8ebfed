#include "mura/data/transforms.h"

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

cv::Mat augment(const cv::Mat& resized, const TransformOptions& o, std::uint64_t seed) {
  // Draw every value in a fixed order, used or not, so that enabling one augmentation
  // never changes the values another one gets.
  Rng rng(seed);
  const bool flip = rng.uniform() < 0.5;
  const double angle = rng.uniform(-1.0, 1.0) * o.rotate_degrees;
  const double bright = 1.0 + rng.uniform(-1.0, 1.0) * o.brightness;
  const double contr = 1.0 + rng.uniform(-1.0, 1.0) * o.contrast;

  cv::Mat img = resized;
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
