// Data parallel in one process: ranks are threads (tests/thread_group.h), so the gradient
// every rank ends a step with can be compared with one process's over the whole batch,
// deterministically. (The torchrun end-to-end tests are tests/e2e/dist_test.cpp.)
#include "mura/train/data_parallel.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "../thread_group.h"
#include "mura/models/registry.h"

namespace mura::train {
namespace {

struct Grads {
  std::vector<std::string> names;
  std::vector<torch::Tensor> values;
};

Grads grads_of(torch::nn::Module& m) {
  Grads g;
  for (const auto& p : m.named_parameters())
    if (p.value().grad().defined()) {
      g.names.push_back(p.key());
      g.values.push_back(p.value().grad().clone());
    }
  return g;
}

/// Largest |a - b| relative to the largest |a| of that parameter's gradient, over every one.
double worst_relative(const Grads& a, const Grads& b, std::string& where) {
  double worst = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    const double scale = std::max(1e-12, a.values[i].abs().max().item<double>());
    const double d = (a.values[i] - b.values[i]).abs().max().item<double>() / scale;
    if (d > worst) {
      worst = d;
      where = a.names[i] + " (max |grad| " + std::to_string(scale) + ", max |diff| " +
              std::to_string(d * scale) + ")";
    }
  }
  return worst;
}

/// One training step of ResNet-18 (train mode, BatchNorm in train mode) over `ranks` thread
/// ranks (with or without --sync-bn), against one model on the whole batch. The replicas start
/// from different seeds: broadcast_model must make them rank 0's.
void check_ranks(int ranks, int batch, bool sync_bn) {
  at::set_num_threads(1);
  torch::manual_seed(11);
  const auto x = torch::randn({batch, 3, 32, 32});
  const auto y = torch::randint(0, 2, {batch}).to(torch::kFloat32);
  // The reference: one model over the whole batch, in float64 (float32 LibTorch itself is off
  // by a few percent of a gradient's scale in places here: small shares, 1x1 maps in layer4).
  auto whole = models::create_model("resnet18", 1);
  auto whole64 = models::create_model("resnet18", 1);
  {
    torch::NoGradGuard g;
    auto src = whole->named_parameters();
    auto dst = whole64->named_parameters();
    for (const auto& kv : src) dst[kv.key()].copy_(kv.value());
  }
  whole64->to(torch::kFloat64);
  whole64->train();
  torch::binary_cross_entropy_with_logits(whole64->forward(x.to(torch::kFloat64)).squeeze(1),
                                          y.to(torch::kFloat64))
      .backward();
  Grads expected = grads_of(*whole64);
  for (auto& v : expected.values) v = v.to(torch::kFloat32);
  whole->train();
  torch::binary_cross_entropy_with_logits(whole->forward(x).squeeze(1), y).backward();
  {
    std::string where;
    std::cout << "[ measured ] one process, float32: worst relative gradient difference "
              << worst_relative(expected, grads_of(*whole), where) << " at " << where << "\n";
  }

  test::ThreadGroup group(ranks);
  std::vector<std::shared_ptr<models::ClassifierImpl>> replicas;
  for (int r = 0; r < ranks; ++r) {
    torch::manual_seed(99 + r);  // different starts: broadcast_model must make them equal
    replicas.push_back(models::create_model("resnet18", 1));
  }
  {
    torch::NoGradGuard g;
    auto src = whole->named_parameters();
    auto dst = replicas[0]->named_parameters();
    for (const auto& kv : src) dst[kv.key()].copy_(kv.value());
  }
  std::vector<Grads> got(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      auto member = std::make_shared<test::ThreadGroup::Member>(group, r);
      auto& model = *replicas[static_cast<std::size_t>(r)];
      broadcast_model(model, *member);
      model.train();
      if (sync_bn) model.set_batchnorm_group(member);
      GradientReducer reducer(model, member, /*bucket_bytes=*/4 << 20);
      reducer.prepare("test step");
      const auto [from, to] = share_of(static_cast<std::size_t>(batch), r, ranks);
      const auto n = static_cast<std::int64_t>(to - from);
      const auto xs = x.narrow(0, static_cast<std::int64_t>(from), n);
      const auto ys = y.narrow(0, static_cast<std::int64_t>(from), n);
      const auto loss = torch::binary_cross_entropy_with_logits(model.forward(xs).squeeze(1), ys) *
                        (static_cast<double>(n) / batch);
      loss.backward();
      reducer.finish();
      got[static_cast<std::size_t>(r)] = grads_of(model);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) {
    ASSERT_EQ(got[static_cast<std::size_t>(r)].names, expected.names);
    std::string where;
    const double d = worst_relative(expected, got[static_cast<std::size_t>(r)], where);
    std::cout << "[ measured ] " << ranks << " ranks, rank " << r
              << ": worst relative gradient difference " << d << " at " << where << "\n";
    if (sync_bn)
      EXPECT_LE(d, 1e-4) << where;
    else
      EXPECT_GT(d, 1e-3) << "without --sync-bn each share is normalised alone: the gradient "
                            "must differ from the whole batch's";
  }
}

TEST(DataParallel, TwoRanksWithSyncBnGiveTheWholeBatchsGradient) {
  check_ranks(2, 10, true);
}
TEST(DataParallel, ThreeRanksSharing5And5And6GiveTheWholeBatchsGradient) {
  check_ranks(3, 16, true);
}
TEST(DataParallel, WithoutSyncBnTheSharesAreNormalisedAlone) {
  check_ranks(2, 10, false);
}

}  // namespace
}  // namespace mura::train
