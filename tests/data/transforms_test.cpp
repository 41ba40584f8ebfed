#include "mura/data/transforms.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <vector>

#include "mura/util/error.h"

namespace mura::data {
namespace {

cv::Mat pattern(int w, int h) {
  cv::Mat m(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<unsigned char>(y, x) = static_cast<unsigned char>((x * 9 + y * 4) % 256);
  return m;
}

bool equal(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && cv::norm(a, b, cv::NORM_INF) == 0.0;
}

TEST(Transforms, ResizeGivesASquareOfTheRequestedSide) {
  for (int size : {224, 320, 28}) {
    const cv::Mat r = resize_square(pattern(300, 180), size);
    EXPECT_EQ(r.rows, size);
    EXPECT_EQ(r.cols, size);
    EXPECT_EQ(r.type(), CV_8UC1);
  }
  EXPECT_THROW(resize_square(pattern(10, 10), 0), Error);
}

TEST(Transforms, AugmentationDependsOnlyOnTheSampleSeed) {
  const cv::Mat img = resize_square(pattern(90, 70), 64);
  TransformOptions o = TransformOptions::training(64);
  o.brightness = 0.2;
  o.contrast = 0.2;
  const cv::Mat a = augment(img, o, sample_seed(1, 0, 5));
  const cv::Mat b = augment(img, o, sample_seed(1, 0, 5));
  EXPECT_TRUE(equal(a, b));
  int differing = 0;
  for (std::uint64_t epoch = 1; epoch < 6; ++epoch)
    differing += !equal(a, augment(img, o, sample_seed(1, epoch, 5)));
  EXPECT_GE(differing, 4) << "other epochs must give other augmentations";
  EXPECT_FALSE(equal(a, augment(img, o, sample_seed(2, 0, 5))));
  EXPECT_FALSE(equal(a, augment(img, o, sample_seed(1, 0, 6))));
}

TEST(Transforms, FlipAloneMirrorsOrKeepsTheImage) {
  const cv::Mat img = resize_square(pattern(50, 50), 32);
  TransformOptions o;
  o.size = 32;
  o.hflip = true;
  cv::Mat mirrored;
  cv::flip(img, mirrored, 1);
  int flips = 0;
  for (std::uint64_t i = 0; i < 40; ++i) {
    const cv::Mat a = augment(img, o, sample_seed(3, 0, i));
    const bool f = equal(a, mirrored);
    EXPECT_TRUE(f || equal(a, img));
    flips += f;
  }
  EXPECT_GT(flips, 8);
  EXPECT_LT(flips, 32);
}

TEST(Transforms, RotationKeepsSizeAndChangesPixels) {
  const cv::Mat img = resize_square(pattern(80, 80), 48);
  TransformOptions o;
  o.size = 48;
  o.rotate_degrees = 10;
  const cv::Mat r = augment(img, o, sample_seed(4, 0, 0));
  EXPECT_EQ(r.size(), img.size());
  EXPECT_FALSE(equal(r, img));
  // the centre pixel barely moves under a rotation about the centre
  EXPECT_NEAR(r.at<unsigned char>(24, 24), img.at<unsigned char>(24, 24), 40);
}

TEST(Transforms, EvaluationTransformIsNotRandom) {
  const TransformOptions o = TransformOptions::evaluation(32);
  EXPECT_FALSE(o.augments());
  EXPECT_TRUE(TransformOptions::training().augments());
}

TEST(Transforms, NormalisationIsImageNetPerChannel) {
  cv::Mat img(2, 2, CV_8UC1);
  img.at<unsigned char>(0, 0) = 0;
  img.at<unsigned char>(0, 1) = 255;
  img.at<unsigned char>(1, 0) = 128;
  img.at<unsigned char>(1, 1) = 64;
  const TransformOptions o;
  std::vector<float> out(12);
  normalize_into(img, o, out.data());
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  const int v[4] = {0, 255, 128, 64};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(out[c * 4 + i], (v[i] / 255.0f - mean[c]) / sd[c], 1e-6) << c << "," << i;
}

}  // namespace
}  // namespace mura::data
