// mura's BatchNorm2d is torch::nn::BatchNorm2d: names, defaults, train and eval forward,
// running statistics and gradients.
#include "mura/models/batchnorm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "../thread_group.h"

namespace mura::models {
namespace {

TEST(BatchNorm2d, EqualsLibTorchsInTrainAndEvalMode) {
  torch::manual_seed(3);
  BatchNorm2d ours(5);
  torch::nn::BatchNorm2d theirs(5);
  std::vector<std::string> a, b;
  for (const auto& p : ours->named_parameters()) a.push_back(p.key());
  for (const auto& p : ours->named_buffers()) a.push_back(p.key());
  for (const auto& p : theirs->named_parameters()) b.push_back(p.key());
  for (const auto& p : theirs->named_buffers()) b.push_back(p.key());
  EXPECT_EQ(a, b);
  {
    torch::NoGradGuard g;
    ours->weight.normal_();
    ours->bias.normal_();
    theirs->weight.copy_(ours->weight);
    theirs->bias.copy_(ours->bias);
  }
  for (int step = 0; step < 3; ++step) {
    const auto x = torch::randn({4, 5, 6, 7}) * 3 + 1;
    const auto y1 = ours(x), y2 = theirs(x);
    EXPECT_LE((y1 - y2).abs().max().item<double>(), 1e-6);
    y1.pow(2).sum().backward();
    y2.pow(2).sum().backward();
  }
  EXPECT_LE((ours->weight.grad() - theirs->weight.grad()).abs().max().item<double>(), 1e-4);
  EXPECT_LE((ours->bias.grad() - theirs->bias.grad()).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(torch::allclose(ours->running_mean, theirs->running_mean));
  EXPECT_TRUE(torch::allclose(ours->running_var, theirs->running_var));
  EXPECT_EQ(ours->num_batches_tracked.item<std::int64_t>(), 3);
  ours->eval();
  theirs->eval();
  const auto x = torch::randn({2, 5, 3, 3});
  EXPECT_LE((ours(x) - theirs(x)).abs().max().item<double>(), 1e-6);
  // a group of one changes nothing
  ours->set_group(single_process_group());
  ours->train();
  theirs->train();
  EXPECT_LE((ours(x) - theirs(x)).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace mura::models

namespace mura::models {
namespace {

TEST(SyncBatchNorm, TwoSharesEqualTheWholeBatch) {
  torch::manual_seed(7);
  const auto x = torch::randn({10, 4, 5, 6}) * 2 + 0.5;
  const auto target = torch::randn({10, 4, 5, 6});
  BatchNorm2d whole(4);
  {
    torch::NoGradGuard g;
    whole->weight.normal_();
    whole->bias.normal_();
  }
  auto xw = x.clone().requires_grad_(true);
  // the loss is a mean over the batch, as training's is
  (whole(xw) - target).pow(2).mean().backward();

  test::ThreadGroup group(2);
  std::vector<BatchNorm2d> bns{BatchNorm2d(4), BatchNorm2d(4)};
  std::vector<torch::Tensor> xs(2), grads(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    {
      torch::NoGradGuard g;
      bns[r]->weight.copy_(whole->weight);
      bns[r]->bias.copy_(whole->bias);
    }
    bns[r]->set_group(std::make_shared<test::ThreadGroup::Member>(group, r));
  }
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      const auto [from, to] = share_of(10, r, 2);
      const auto n = static_cast<std::int64_t>(to - from);
      xs[r] = x.narrow(0, static_cast<std::int64_t>(from), n).clone().requires_grad_(true);
      const auto t = target.narrow(0, static_cast<std::int64_t>(from), n);
      // this share's part of the whole batch's mean
      ((bns[r](xs[r]) - t).pow(2).sum() / target.numel()).backward();
    });
  for (auto& t : threads) t.join();
  const auto xg = torch::cat({xs[0].grad(), xs[1].grad()});
  EXPECT_LE((xg - xw.grad()).abs().max().item<double>(), 1e-6);
  const auto wg = bns[0]->weight.grad() + bns[1]->weight.grad();
  EXPECT_LE((wg - whole->weight.grad()).abs().max().item<double>(), 1e-6);
  for (int r = 0; r < 2; ++r) {
    EXPECT_LE((bns[r]->running_mean - whole->running_mean).abs().max().item<double>(), 1e-6);
    EXPECT_LE((bns[r]->running_var - whole->running_var).abs().max().item<double>(), 1e-6);
  }
}

}  // namespace
}  // namespace mura::models
