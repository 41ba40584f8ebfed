// The fp16 loss scaler: torch.cuda.amp.GradScaler's rules, checked on the CPU with fp32
// tensors (the arithmetic is the same; only the overflow is injected by hand).
#include "mura/train/grad_scaler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "mura/util/error.h"

namespace mura::train {
namespace {

struct Fixture {
  torch::Tensor w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd{{w}, torch::optim::SGDOptions(0.1)};
};

TEST(GradScaler, ScalesTheLossAndUnscalesTheGradientsBeforeTheStep) {
  Fixture f;
  GradScaler s({/*init_scale=*/1024.0, 2.0, 0.5, 2000, true});
  const auto loss = (f.w * torch::tensor({1.0f, 2.0f, 3.0f})).sum();
  EXPECT_DOUBLE_EQ(s.scale_loss(loss).item<double>(), 6.0 * 1024.0);
  s.scale_loss(loss).backward();
  EXPECT_TRUE(s.step(f.sgd));
  // the step used the true gradient (1, 2, 3), not 1024 times it
  EXPECT_TRUE(torch::allclose(f.w.detach(), torch::tensor({0.9f, 0.8f, 0.7f})));
  EXPECT_DOUBLE_EQ(s.scale(), 1024.0);
}

TEST(GradScaler, SkipsAStepWithNonFiniteGradientsAndBacksOff) {
  Fixture f;
  GradScaler s({1024.0, 2.0, 0.5, 2000, true});
  f.w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(s.step(f.sgd));
  EXPECT_TRUE(torch::equal(f.w.detach(), torch::ones({3})));
  EXPECT_DOUBLE_EQ(s.scale(), 512.0);
  EXPECT_EQ(s.skipped_steps(), 1);
  f.w.mutable_grad() = torch::tensor({std::nanf(""), 0.0f, 0.0f});
  EXPECT_FALSE(s.step(f.sgd));
  EXPECT_DOUBLE_EQ(s.scale(), 256.0);
}

TEST(GradScaler, GrowsAfterTheIntervalOfFiniteSteps) {
  Fixture f;
  GradScaler s({8.0, 2.0, 0.5, 3, true});
  for (int i = 0; i < 3; ++i) {
    f.w.mutable_grad() = torch::full({3}, 8.0f);
    EXPECT_TRUE(s.step(f.sgd));
  }
  EXPECT_DOUBLE_EQ(s.scale(), 16.0);
  // an overflow resets the count
  f.w.mutable_grad() = torch::full({3}, std::numeric_limits<float>::infinity());
  s.step(f.sgd);
  EXPECT_DOUBLE_EQ(s.scale(), 8.0);
  GradScaler restored({1.0, 2.0, 0.5, 3, true});
  restored.load_state_json(s.state_json());
  EXPECT_DOUBLE_EQ(restored.scale(), 8.0);
  EXPECT_EQ(restored.skipped_steps(), 1);
  EXPECT_THROW(restored.load_state_json("{\"scale\": -1, \"growth_tracker\": 0}"), Error);
  EXPECT_THROW(restored.load_state_json("not json"), Error);
}

TEST(GradScaler, DisabledIsAPassThrough) {
  Fixture f;
  GradScaler s({1024.0, 2.0, 0.5, 2000, false});
  const auto loss = f.w.sum();
  EXPECT_DOUBLE_EQ(s.scale_loss(loss).item<double>(), 3.0);
  s.scale_loss(loss).backward();
  EXPECT_TRUE(s.step(f.sgd));
  EXPECT_TRUE(torch::allclose(f.w.detach(), torch::full({3}, 0.9f)));
  EXPECT_THROW(GradScaler({0.0, 2.0, 0.5, 1, true}), Error);
}

}  // namespace
}  // namespace mura::train
