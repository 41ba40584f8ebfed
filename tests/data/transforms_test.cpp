#include "mura/data/transforms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <vector>

#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"

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

// RandomResizedCrop: mura draws the boxes (torchvision's get_params with mura's generator),
// torchvision's resized_crop resamples the same boxes: the pixels agree within 1 gray level.
TEST(RandomResizedCrop, EqualsTorchvisionsResizedCropForTheSameBoxes) {
  const int h = 150, w = 170, size = 96;
  cv::Mat img(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      img.at<unsigned char>(y, x) = static_cast<unsigned char>(
          std::lround(127.5 + 60 * std::sin(x / 7.0) * std::cos(y / 11.0) +
                      ((x - 90) * (x - 90) + (y - 60) * (y - 60) < 400 ? 60 : -60)));
  nlohmann::json boxes = nlohmann::json::array();
  std::vector<Box> drawn;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Rng rng(seed);
    const Box b = random_resized_crop_box(h, w, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, rng);
    drawn.push_back(b);
    boxes.push_back({b.top, b.left, b.height, b.width});
  }
  test::TempDir tmp;
  write_file_atomic(tmp / "img.bin", std::string(reinterpret_cast<const char*>(img.data), h * w));
  write_file_atomic(tmp / "boxes.json", boxes.dump());
  auto q = [](const std::filesystem::path& p) { return "'" + p.string() + "'"; };
  const auto r =
      test::run_command("'" + std::string(MURA_PYTHON) + "' '" + MURA_SOURCE_DIR +
                        "/tests/reference/augment_reference.py' " + q(tmp / "img.bin") +
                        " 150 170 " + q(tmp / "boxes.json") + " 96 " + q(tmp / "out.bin"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string ref = read_file(tmp / "out.bin");
  ASSERT_EQ(ref.size(), drawn.size() * size * size);
  double worst = 0;
  for (std::size_t k = 0; k < drawn.size(); ++k) {
    const cv::Mat expect(size, size, CV_8UC1, const_cast<char*>(ref.data() + k * size * size));
    const double d = cv::norm(resized_crop(img, drawn[k], size), expect, cv::NORM_INF);
    worst = std::max(worst, d);
    EXPECT_LE(d, 1.0) << "box " << k << ": " << boxes[k].dump();
  }
  std::printf("40 boxes: max |mura - torchvision| %.0f gray level(s)\n", worst);
}

// get_params' properties: inside the image, area and aspect ratio in range (up to the
// rounding of the sides), every part of the range reached, the same seed the same box, the
// centre crop when nothing fits.
TEST(RandomResizedCrop, BoxesAreInsideInRangeAndReproducible) {
  const int h = 224, w = 224;
  double min_area = 1, max_area = 0, min_ratio = 10, max_ratio = 0;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    Rng rng(seed);
    const Box b = random_resized_crop_box(h, w, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, h);
    ASSERT_LE(b.left + b.width, w);
    const double area = static_cast<double>(b.height) * b.width / (h * w);
    const double ratio = static_cast<double>(b.width) / b.height;
    min_area = std::min(min_area, area), max_area = std::max(max_area, area);
    min_ratio = std::min(min_ratio, ratio), max_ratio = std::max(max_ratio, ratio);
    Rng again(seed);
    const Box c = random_resized_crop_box(h, w, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, again);
    EXPECT_EQ(std::tie(b.top, b.left, b.height, b.width),
              std::tie(c.top, c.left, c.height, c.width));
  }
  EXPECT_GE(min_area, 0.075);
  EXPECT_LT(min_area, 0.1);
  EXPECT_GT(max_area, 0.9);
  EXPECT_GE(min_ratio, 0.74);
  EXPECT_LT(min_ratio, 0.78);
  EXPECT_LE(max_ratio, 1.35);
  EXPECT_GT(max_ratio, 1.28);
  // 10 x 100 with 99% of the area: no try fits, so the centre crop at the widest ratio
  Rng rng(1);
  const Box f = random_resized_crop_box(10, 100, 0.99, 1.0, 3.0 / 4.0, 4.0 / 3.0, rng);
  EXPECT_EQ(std::tie(f.top, f.left, f.height, f.width), std::make_tuple(0, 43, 10, 13));
}

// RandomErasing's get_params: as often as asked, boxes inside, 2-33% of the area and an
// aspect ratio of 0.3-3.3 (up to rounding); erasing sets exactly the box to 0 in each layout.
TEST(RandomErasing, BoxesFollowTorchvisionsRulesAndEraseExactlyTheBox) {
  int erased = 0;
  const int n = 4000, size = 64;
  for (int i = 0; i < n; ++i) {
    Rng rng(static_cast<std::uint64_t>(i));
    const auto b = random_erasing_box(size, size, 0.5, rng);
    if (!b) continue;
    ++erased;
    ASSERT_TRUE(b->top >= 0 && b->left >= 0 && b->top + b->height <= size &&
                b->left + b->width <= size);
    ASSERT_LT(b->height, size);
    ASSERT_LT(b->width, size);
    const double area = static_cast<double>(b->height) * b->width / (size * size);
    EXPECT_GE(area, 0.012);
    EXPECT_LE(area, 0.36);
    const double ratio = static_cast<double>(b->height) / b->width;
    EXPECT_GE(ratio, 0.24);
    EXPECT_LE(ratio, 4.2);
  }
  // p = 0.5 less the rare draws where no try fits: 4.6 binomial deviations either side
  EXPECT_NEAR(erased / static_cast<double>(n), 0.49, 0.04);
  TransformOptions o = TransformOptions::evaluation(size);
  EXPECT_FALSE(erasing_box(o, 7).has_value());
  o.erasing = 1.0;
  std::optional<Box> box;
  for (std::uint64_t seed = 0; !box; ++seed) box = erasing_box(o, seed);
  for (const bool interleaved : {false, true}) {
    std::vector<float> planes(3 * size * size, 0.5f);
    erase_normalized(planes.data(), size, *box, interleaved);
    int zeros = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          const float v =
              interleaved ? planes[(y * size + x) * 3 + c] : planes[(c * size + y) * size + x];
          const bool inside = y >= box->top && y < box->top + box->height && x >= box->left &&
                              x < box->left + box->width;
          EXPECT_EQ(v, inside ? 0.0f : 0.5f);
          zeros += v == 0.0f;
        }
    EXPECT_EQ(zeros, 3 * box->height * box->width);
  }
}

TEST(RandomResizedCrop, InAugmentKeepsTheSizeAndTheOtherAugmentationsDraws) {
  const cv::Mat img = pattern(64, 64);
  TransformOptions o = TransformOptions::training(64);
  const cv::Mat plain = augment(img, o, sample_seed(5, 1, 2));
  o.crop_scale = 0.3;
  const cv::Mat cropped = augment(img, o, sample_seed(5, 1, 2));
  EXPECT_EQ(cropped.size(), img.size());
  EXPECT_FALSE(equal(plain, cropped));
  EXPECT_TRUE(equal(cropped, augment(img, o, sample_seed(5, 1, 2))));
  // the crop draws from its own stream: flip and rotation are those of the uncropped run
  TransformOptions crop_only = TransformOptions::evaluation(64);
  crop_only.crop_scale = 0.3;
  TransformOptions rest = TransformOptions::training(64);
  EXPECT_TRUE(equal(
      cropped, augment(augment(img, crop_only, sample_seed(5, 1, 2)), rest, sample_seed(5, 1, 2))));
}

}  // namespace
}  // namespace mura::data
