#include "mura/weights/torchvision.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../test_util.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"

namespace mura::weights {
namespace {

StateDict copy_of(models::ClassifierImpl& m) {
  StateDict sd;
  for (const auto& t : model_state_dict(m)) sd.push_back({t.name, t.tensor.clone()});
  return sd;
}

torch::Tensor tensor_of(models::ClassifierImpl& m, const std::string& name) {
  for (const auto& t : model_state_dict(m))
    if (t.name == name) return t.tensor;
  return {};
}

void expect_load_error(models::ClassifierImpl& m, const StateDict& sd,
                       const std::vector<std::string>& fragments) {
  const std::string message = test::error_message([&] { load_state_dict(m, sd, "w.pth"); });
  for (const auto& f : fragments) EXPECT_TRUE(test::contains(message, f));
}

TEST(TorchvisionWeights, LegacyDenseNetKeysAreRemapped) {
  EXPECT_EQ(remap_legacy_key("features.denseblock1.denselayer1.norm.1.weight"),
            "features.denseblock1.denselayer1.norm1.weight");
  EXPECT_EQ(remap_legacy_key("features.denseblock4.denselayer32.conv.2.weight"),
            "features.denseblock4.denselayer32.conv2.weight");
  EXPECT_EQ(remap_legacy_key("features.denseblock2.denselayer3.norm.2.running_var"),
            "features.denseblock2.denselayer3.norm2.running_var");
  EXPECT_EQ(remap_legacy_key("features.transition1.norm.weight"),
            "features.transition1.norm.weight");
  EXPECT_EQ(remap_legacy_key("layer1.0.conv1.weight"), "layer1.0.conv1.weight");
}

TEST(TorchvisionWeights, GuessesEveryArchitectureFromItsKeys) {
  for (const auto& arch : models::known_architectures()) {
    auto m = models::create_model(arch, 1000);
    EXPECT_EQ(guess_architecture(model_state_dict(*m)).value_or("?"), arch);
  }
  EXPECT_FALSE(guess_architecture({{"foo", torch::zeros({1})}}).has_value());
}

TEST(TorchvisionWeights, RoundTripCopiesEveryValue) {
  torch::manual_seed(1);
  auto a = models::create_model("resnet18", 1000);
  torch::manual_seed(2);
  auto b = models::create_model("resnet18", 1000);
  const auto report = load_state_dict(*b, copy_of(*a), "a");
  EXPECT_EQ(report.loaded, model_state_dict(*a).size());
  for (const auto& t : model_state_dict(*a))
    EXPECT_TRUE(torch::equal(t.tensor, tensor_of(*b, t.name))) << t.name;
}

TEST(TorchvisionWeights, ImageNetHeadIsSkippedForAOneLogitModel) {
  auto imagenet = models::create_model("resnet18", 1000);
  auto m = models::create_model("resnet18", 1);
  const auto head = m->head()->weight.clone();
  const auto report = load_state_dict(*m, copy_of(*imagenet), "w.pth");
  EXPECT_EQ(report.skipped_head, (std::vector<std::string>{"fc.bias", "fc.weight"}));
  EXPECT_TRUE(torch::equal(m->head()->weight, head));
  LoadOptions strict;
  strict.allow_head_mismatch = false;
  EXPECT_THROW(load_state_dict(*m, copy_of(*imagenet), "w.pth", strict), Error);
}

TEST(TorchvisionWeights, ErrorsNameTheProblem) {
  auto m = models::create_model("resnet18", 1000);
  StateDict sd = copy_of(*m);

  StateDict missing(sd.begin() + 1, sd.end());
  expect_load_error(*m, missing, {"w.pth: 1 key(s) that resnet18 needs are missing", sd[0].name});

  StateDict extra = sd;
  extra.push_back({"layer9.0.conv1.weight", torch::zeros({1})});
  expect_load_error(*m, extra, {"key(s) that resnet18 does not have: layer9.0.conv1.weight"});

  StateDict shape = sd;
  for (auto& t : shape)
    if (t.name == "layer2.0.conv1.weight") t.tensor = torch::zeros({128, 64, 1, 1});
  expect_load_error(*m, shape,
                    {"shape mismatch for 'layer2.0.conv1.weight'",
                     "expects [128, 64, 3, 3], the file has [128, 64, 1, 1]"});

  auto other = models::create_model("resnet34", 1000);
  expect_load_error(*m, copy_of(*other),
                    {"wrong architecture: the file holds resnet34 weights, not resnet18"});
  auto dense = models::create_model("densenet121", 1000);
  expect_load_error(*m, copy_of(*dense), {"holds densenet121 weights"});
}

TEST(TorchvisionWeights, OldFilesWithoutNumBatchesTrackedAndHalfPrecisionLoad) {
  torch::manual_seed(3);
  auto a = models::create_model("resnet18", 1000);
  StateDict sd;
  for (const auto& t : copy_of(*a))
    if (t.name.find("num_batches_tracked") == std::string::npos)
      sd.push_back({t.name, t.tensor.to(torch::kFloat16)});
  auto b = models::create_model("resnet18", 1000);
  const auto report = load_state_dict(*b, sd, "old.pth");
  EXPECT_EQ(report.defaulted, 20u);  // resnet18 has 20 BatchNorm layers
  EXPECT_EQ(tensor_of(*b, "conv1.weight").dtype(), torch::kFloat32);
  EXPECT_TRUE(
      torch::allclose(tensor_of(*b, "conv1.weight"), tensor_of(*a, "conv1.weight"), 1e-3, 1e-3));
}

}  // namespace
}  // namespace mura::weights
