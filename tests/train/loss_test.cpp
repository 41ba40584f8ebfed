#include "mura/train/loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "mura/util/error.h"

namespace mura::train {
namespace {

TEST(Loss, MuraClassWeightsFollowThePaper) {
  // XR_WRIST: 3 abnormal, 1 normal; XR_HAND: 1 abnormal, 4 normal
  const std::vector<std::string> parts = {"XR_WRIST", "XR_WRIST", "XR_WRIST", "XR_WRIST", "XR_HAND",
                                          "XR_HAND",  "XR_HAND",  "XR_HAND",  "XR_HAND"};
  const std::vector<int> labels = {1, 1, 1, 0, 1, 0, 0, 0, 0};
  const auto w = mura_class_weights(parts, labels);
  // w1 = N/(A+N), w0 = A/(A+N)
  EXPECT_DOUBLE_EQ(w.at("XR_WRIST").w1, 1.0 / 4);
  EXPECT_DOUBLE_EQ(w.at("XR_WRIST").w0, 3.0 / 4);
  EXPECT_DOUBLE_EQ(w.at("XR_HAND").w1, 4.0 / 5);
  EXPECT_DOUBLE_EQ(w.at("XR_HAND").w0, 1.0 / 5);
}

TEST(Loss, WeightedBceEqualsTheHandComputedMean) {
  const auto w = mura_class_weights({"A", "A", "A", "B"}, {1, 0, 0, 1});
  const Loss loss(LossKind::WeightedBce, w);
  const auto logits = torch::tensor({{0.3f}, {-1.2f}, {2.0f}, {0.7f}});
  const auto labels = torch::tensor({1.f, 0.f, 0.f, 1.f});
  const double got = loss(logits, labels, {"A", "A", "A", "B"}).item<double>();
  auto bce = [](double z, double y) {
    const double p = 1 / (1 + std::exp(-z));
    return -(y * std::log(p) + (1 - y) * std::log(1 - p));
  };
  // part A: A=1, N=2 -> w1 = 2/3, w0 = 1/3; part B: A=1, N=0 -> w1 = 0, w0 = 1
  const double expect =
      (2.0 / 3 * bce(0.3, 1) + 1.0 / 3 * bce(-1.2, 0) + 1.0 / 3 * bce(2.0, 0) + 0.0 * bce(0.7, 1)) /
      4;
  EXPECT_NEAR(got, expect, 1e-6);
}

TEST(Loss, PlainBceAndCrossEntropy) {
  const auto labels = torch::tensor({1.f, 0.f});
  const Loss bce(LossKind::Bce);
  const auto z = torch::tensor({{0.5f}, {-0.5f}});
  EXPECT_NEAR(bce(z, labels, {"X", "X"}).item<double>(), std::log(1 + std::exp(-0.5)), 1e-6);
  const Loss ce(LossKind::Ce);
  const auto z2 = torch::tensor({{0.f, 1.f}, {2.f, 0.f}});
  const double expect = (std::log(1 + std::exp(-1.0)) + std::log(1 + std::exp(-2.0))) / 2;
  EXPECT_NEAR(ce(z2, labels, {"X", "X"}).item<double>(), expect, 1e-6);
}

TEST(Loss, HeadSizeMismatchAndUnknownNamesAreErrors) {
  const Loss ce(LossKind::Ce);
  EXPECT_THROW(ce(torch::zeros({2, 1}), torch::zeros({2}), {"X", "X"}), Error);
  const Loss bce(LossKind::Bce);
  EXPECT_THROW(bce(torch::zeros({2, 2}), torch::zeros({2}), {"X", "X"}), Error);
  EXPECT_THROW(parse_loss("focal"), Error);
  EXPECT_EQ(parse_loss("weighted-bce"), LossKind::WeightedBce);
  EXPECT_EQ(loss_outputs(LossKind::Ce), 2);
}

}  // namespace
}  // namespace mura::train
