#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../test_util.h"
#include "mura/models/layers.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"

namespace mura::models {
namespace {

TEST(Registry, BuildsEveryArchitectureByNameAndSpelling) {
  EXPECT_EQ(known_architectures().size(), 23u);
  EXPECT_EQ(canonical_architecture("DenseNet-169"), "densenet169");
  EXPECT_EQ(canonical_architecture("ResNet_50"), "resnet50");
  EXPECT_EQ(canonical_architecture("EfficientNet-B0"), "efficientnet_b0");
  EXPECT_EQ(canonical_architecture("efficientnetV2-S"), "efficientnet_v2_s");
  EXPECT_EQ(canonical_architecture("ConvNeXt_Tiny"), "convnext_tiny");
  for (const auto& name : {"resnet18", "densenet121", "efficientnet_b0", "convnext_tiny"}) {
    auto m = create_model(name, 1);
    EXPECT_EQ(m->arch(), name);
    EXPECT_EQ(m->num_outputs(), 1);
  }
}

TEST(Registry, UnknownNameListsTheKnownOnes) {
  EXPECT_ERROR_CONTAINS(create_model("vgg16"), "unknown architecture 'vgg16'", "densenet169",
                        "resnet50");
  EXPECT_THROW(create_model("resnet18", 0), Error);
}

TEST(Models, FeatureAndLogitShapes) {
  torch::NoGradGuard no_grad;
  auto r = create_model("resnet18", 1);
  r->eval();
  EXPECT_EQ(r->forward_features(torch::randn({2, 3, 64, 64})).sizes(),
            (std::vector<int64_t>{2, 512, 2, 2}));
  EXPECT_EQ(r->forward(torch::randn({2, 3, 64, 96})).sizes(), (std::vector<int64_t>{2, 1}));
  auto d = create_model("densenet121", 2);
  d->eval();
  EXPECT_EQ(d->forward_features(torch::randn({1, 3, 64, 64})).sizes(),
            (std::vector<int64_t>{1, 1024, 2, 2}));
  EXPECT_EQ(d->forward(torch::randn({1, 3, 64, 64})).sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(d->head_name(), std::string("classifier"));
  EXPECT_EQ(r->head_name(), std::string("fc"));
}

// EfficientNet keeps its Linear in classifier.1 (after dropout), ConvNeXt in classifier.2
// (after a LayerNorm, classifier.0): the head is found, replaced and frozen there.
TEST(Models, EfficientNetAndConvNeXtHeadsLiveInsideTheirClassifier) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, linear, channels] :
       {std::tuple<const char*, const char*, int64_t>{"efficientnet_b0", "classifier.1", 1280},
        {"efficientnet_v2_s", "classifier.1", 1280},
        {"convnext_tiny", "classifier.2", 768}}) {
    auto m = create_model(name, 1000);
    m->eval();
    EXPECT_EQ(m->head_name(), std::string("classifier"));
    EXPECT_EQ(head_weight_key(name), std::string(linear) + ".weight");
    EXPECT_EQ(m->forward_features(torch::randn({1, 3, 64, 96})).sizes(),
              (std::vector<int64_t>{1, channels, 2, 3}))
        << name;
    auto params = m->named_parameters();
    const auto stem = params["features.0.0.weight"].clone();
    m->reset_head(2);
    params = m->named_parameters();
    EXPECT_EQ(params[std::string(linear) + ".weight"].sizes(), (std::vector<int64_t>{2, channels}));
    EXPECT_TRUE(torch::equal(params["features.0.0.weight"], stem));
    EXPECT_EQ(m->forward(torch::randn({3, 3, 64, 64})).sizes(), (std::vector<int64_t>{3, 2}));
    m->set_frozen(true);
    for (auto& p : m->named_parameters())
      EXPECT_EQ(p.value().requires_grad(), p.key().rfind("classifier.", 0) == 0) << p.key();
  }
}

// torchvision's StochasticDepth("row"): in training each sample's branch is dropped with
// probability p and the kept ones are scaled by 1 / (1 - p); eval mode leaves it alone.
TEST(StochasticDepth, DropsWholeSamplesWithTheirProbabilityAndRescalesTheRest) {
  torch::manual_seed(11);
  const auto x = torch::rand({20000, 2, 3, 3}) + 1;  // no zeros of its own
  const auto y = stochastic_depth(x, 0.3, true);
  const auto kept = (y.flatten(1) != 0).all(1);
  EXPECT_TRUE(((y.flatten(1) == 0).all(1) | kept).all().item<bool>()) << "whole samples only";
  const double dropped = 1.0 - kept.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(dropped, 0.3, 0.015);  // 4.6 standard deviations of a binomial mean
  EXPECT_TRUE(torch::allclose(y.index({kept}), x.index({kept}) / 0.7));
  EXPECT_TRUE(torch::equal(stochastic_depth(x, 0.3, false), x));
  EXPECT_TRUE(torch::equal(stochastic_depth(x, 0.0, true), x));
  // The models: train mode draws (two seeds differ), eval mode is deterministic.
  auto m = create_model("convnext_tiny", 1);
  {
    torch::NoGradGuard no_grad;  // 1e-6 at init would make a dropped block invisible
    for (auto& p : m->named_parameters())
      if (p.key().find("layer_scale") != std::string::npos) p.value().fill_(1.0);
  }
  const auto in = torch::randn({4, 3, 64, 64});
  m->train();
  torch::manual_seed(1);
  const auto a = m->forward(in);
  torch::manual_seed(2);
  const auto b = m->forward(in);
  torch::manual_seed(1);
  EXPECT_TRUE(torch::equal(a, m->forward(in))) << "the same seed drops the same blocks";
  EXPECT_FALSE(torch::equal(a, b));
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(in), m->forward(in)));
}

TEST(Models, ResetHeadReplacesOnlyTheHead) {
  auto m = create_model("resnet18", 1000);
  const auto conv = m->named_parameters()["conv1.weight"].clone();
  m->reset_head(1);
  EXPECT_EQ(m->num_outputs(), 1);
  EXPECT_EQ(m->named_parameters()["fc.weight"].sizes(), (std::vector<int64_t>{1, 512}));
  EXPECT_TRUE(torch::equal(m->named_parameters()["conv1.weight"], conv));
}

TEST(Models, FreezeTrainsOnlyTheHeadAndKeepsBatchNormStatistics) {
  auto m = create_model("resnet18", 1);
  m->set_frozen(true);
  for (auto& p : m->named_parameters())
    EXPECT_EQ(p.value().requires_grad(), p.key().rfind("fc.", 0) == 0) << p.key();
  m->train();
  const auto mean_before = m->named_buffers()["bn1.running_mean"].clone();
  const auto head_before = m->named_parameters()["fc.weight"].clone();
  torch::optim::SGD opt(m->parameters(), 0.1);
  const auto loss = m->forward(torch::randn({4, 3, 64, 64}) * 3 + 1).sum();
  loss.backward();
  opt.step();
  EXPECT_TRUE(torch::equal(m->named_buffers()["bn1.running_mean"], mean_before))
      << "a frozen backbone's BatchNorm statistics must not move";
  EXPECT_FALSE(torch::equal(m->named_parameters()["fc.weight"], head_before)) << "the head trains";
  EXPECT_FALSE(m->named_parameters()["conv1.weight"].grad().defined());

  m->set_frozen(false);
  for (auto& p : m->named_parameters()) EXPECT_TRUE(p.value().requires_grad()) << p.key();
  m->train();
  m->forward(torch::randn({4, 3, 64, 64}) * 3 + 1);
  EXPECT_FALSE(torch::equal(m->named_buffers()["bn1.running_mean"], mean_before))
      << "unfrozen, train mode updates the statistics again";
}

TEST(Models, DenseNetFreezeAlsoHoldsItsStatistics) {
  auto m = create_model("densenet121", 1);
  m->set_frozen(true);
  m->train();
  const auto before = m->named_buffers()["features.norm5.running_var"].clone();
  m->forward(torch::randn({2, 3, 64, 64}));
  EXPECT_TRUE(torch::equal(m->named_buffers()["features.norm5.running_var"], before));
  EXPECT_TRUE(m->is_training());
}

// feature_grid() is what Grad-CAM's mapping back to the image rests on: measure where a cell
// of the last stage looks, as the centroid of |d cell / d input| over the input, for cells
// away from the image's centre (where symmetry would hide a shift) and far enough from the
// borders that the zero padding pulls little (a few px). A plain resize of the map assumes
// stride * (j + 0.5) - 0.5: for ResNet 15.5 px off, and an offset of 0 for DenseNet 14 px.
TEST(Models, FeatureGridIsWhereTheLastStageLooks) {
  torch::manual_seed(3);
  for (const char* name : {"resnet18", "densenet121", "efficientnet_b0", "convnext_tiny"}) {
    auto m = create_model(name, 1);
    m->eval();
    const int64_t size = 384;
    const auto x = torch::randn({1, 3, size, size}).requires_grad_(true);
    const auto f = m->forward_features(x);
    ASSERT_EQ(f.size(2), size / 32) << name;
    const auto grid = m->feature_grid();
    for (const auto& [i, j] : {std::pair<int64_t, int64_t>{4, 7}, {7, 4}}) {
      const auto g =
          torch::autograd::grad({f.index({0, torch::indexing::Slice(), i, j}).sum()}, {x},
                                /*grad_outputs=*/{}, /*retain_graph=*/true)[0];
      const auto a = g.abs().sum(1)[0].to(torch::kFloat64);  // [H, W]
      const auto pos = torch::arange(size, torch::kFloat64);
      const double cy = ((a.sum(1) * pos).sum() / a.sum()).item<double>();
      const double cx = ((a.sum(0) * pos).sum() / a.sum()).item<double>();
      const double ey = grid.offset + grid.stride * static_cast<double>(i);
      const double ex = grid.offset + grid.stride * static_cast<double>(j);
      std::printf("%s cell (%lld, %lld): looks at (%.1f, %.1f), feature_grid says (%.1f, %.1f)\n",
                  name, static_cast<long long>(i), static_cast<long long>(j), cy, cx, ey, ex);
      EXPECT_NEAR(cy, ey, 6.0) << name;
      EXPECT_NEAR(cx, ex, 6.0) << name;
    }
  }
}

}  // namespace
}  // namespace mura::models
