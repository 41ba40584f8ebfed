// Parity with torchvision: for each architecture, the state-dict keys, shapes and dtypes
// (and guess_architecture naming it from its file); eval logits at 224, 320 and the
// architecture's native size after importing a state dict saved in the zip format, at 224
// from the legacy format and from a 2017-style file (legacy key names, which only DenseNet's
// differ from today's, and no num_batches_tracked); train-mode logits (stochastic depth and
// dropout drawn from the same seed) and the gradients of five named parameters. Fixtures
// are written at test time by
// tests/reference/torchvision_parity.py with Debian's python3-torchvision (CTest fixture
// `parity_fixtures`).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/util/strings.h"
#include "mura/weights/pth_reader.h"
#include "mura/weights/torchvision.h"

namespace mura {
namespace {
namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;  // max abs difference of logits (the bound)

class Parity : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir() const { return fs::path(MURA_PARITY_DIR) / GetParam(); }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(dir() / "stamp"))
        << "parity fixtures missing in " << dir()
        << ": the CTest fixture parity_fixtures runs tests/reference/torchvision_parity.py";
    index_ = nlohmann::json::parse(read_file(dir() / "tensors.json"));
    torch::set_num_threads(index_.at("threads").get<int>());
    torch::manual_seed(123);  // our own init differs; every value must come from the file
    model_ = models::create_model(GetParam(), 1000);
  }

  torch::Tensor ref(const std::string& name) const {
    const auto& e = index_.at(name);
    const std::string bytes = read_file(dir() / e.at("file").get<std::string>());
    std::vector<int64_t> shape = e.at("shape").get<std::vector<int64_t>>();
    auto t = torch::empty(shape, torch::kFloat32);
    EXPECT_EQ(static_cast<std::size_t>(t.numel()) * 4, bytes.size()) << name;
    std::memcpy(t.data_ptr<float>(), bytes.data(), bytes.size());
    return t;
  }

  void load(const std::string& file) {
    const auto report = weights::load_torchvision_weights(*model_, dir() / file);
    EXPECT_TRUE(report.skipped_head.empty());
  }

  static double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    return (a - b).abs().max().item<double>();
  }

  /// Eval logits at 224 only, or at every size the fixture has (224, 320, native).
  void expect_eval_logits(bool every_size = true) {
    model_->eval();
    torch::NoGradGuard no_grad;
    std::vector<std::string> sizes{"224"};
    if (every_size)
      for (const auto& s : index_.at("sizes"))
        if (s.get<int>() != 224) sizes.push_back(std::to_string(s.get<int>()));
    for (const auto& size : sizes) {
      const auto out = model_->forward(ref("input" + size));
      const auto expect = ref("eval" + size);
      const double d = max_abs_diff(out, expect);
      EXPECT_LE(d, kTolerance) << GetParam() << " at " << size << ": logits differ by " << d
                               << " (logit scale " << expect.abs().max().item<double>() << ")";
    }
  }

  nlohmann::json index_;
  std::shared_ptr<models::ClassifierImpl> model_;
};

TEST_P(Parity, KeysShapesAndDtypesEqualTorchvision) {
  const auto keys = nlohmann::json::parse(read_file(dir() / "keys.json"));
  std::map<std::string, std::pair<std::vector<int64_t>, std::string>> ours;
  for (const auto& t : weights::model_state_dict(*model_))
    ours[t.name] = {t.tensor.sizes().vec(),
                    t.tensor.dtype() == torch::kInt64 ? "int64" : "float32"};
  ASSERT_EQ(ours.size(), keys.size());
  for (const auto& k : keys) {
    const std::string name = k[0];
    auto it = ours.find(name);
    ASSERT_NE(it, ours.end()) << "torchvision key '" << name << "' missing in mura's "
                              << GetParam();
    EXPECT_EQ(it->second.first, k[1].get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(it->second.second, k[2].get<std::string>()) << name;
  }
  EXPECT_EQ(weights::guess_architecture(weights::read_pth(dir() / "weights.zip.pth").tensors),
            GetParam());
}

TEST_P(Parity, EvalLogitsFromZipFormat) {
  load("weights.zip.pth");
  expect_eval_logits();
}

TEST_P(Parity, EvalLogitsFromLegacyFormat) {
  load("weights.legacy.pth");
  expect_eval_logits(/*every_size=*/false);
}

TEST_P(Parity, EvalLogitsFromLegacyKeyNames) {
  // As torchvision's 2017 files: DenseNet's dense layers had norm.1, conv.1, norm.2, conv.2
  // (4 + 1 + 4 + 1 tensors per layer, all remapped); ResNet's names never changed (none
  // remapped). Neither has num_batches_tracked, so every one is defaulted.
  std::size_t keys = 0, nbt = 0, legacy = 0;
  for (const auto& t : weights::model_state_dict(*model_)) {
    ++keys;
    if (ends_with(t.name, ".num_batches_tracked")) {
      ++nbt;
      continue;
    }
    if (!test::contains(t.name, "denselayer")) continue;
    for (const char* part : {".norm1.", ".conv1.", ".norm2.", ".conv2."})
      if (test::contains(t.name, part)) ++legacy;
  }
  const bool densenet = starts_with(GetParam(), "densenet");
  EXPECT_EQ(legacy > 0, densenet);
  const auto report =
      weights::load_torchvision_weights(*model_, dir() / "weights.legacy_names.pth");
  EXPECT_EQ(report.remapped, legacy);
  EXPECT_EQ(nbt > 0, !starts_with(GetParam(), "convnext")) << "ConvNeXt has no BatchNorm";
  EXPECT_EQ(report.defaulted, nbt) << "num_batches_tracked is absent from legacy files";
  EXPECT_EQ(report.loaded, keys - nbt);
  expect_eval_logits(/*every_size=*/false);
}

TEST_P(Parity, TrainModeLogitsAndGradients) {
  load("weights.zip.pth");
  model_->train();
  torch::manual_seed(20261207);  // TRAIN_SEED of torchvision_parity.py
  const auto out = model_->forward(ref("input224"));
  EXPECT_LE(max_abs_diff(out.detach(), ref("train224")), kTolerance);
  (out * ref("train_weight")).sum().backward();
  std::map<std::string, torch::Tensor> params;
  for (auto& p : model_->named_parameters()) params[p.key()] = p.value();
  int checked = 0;
  for (const auto& [name, e] : index_.items()) {
    if (name.rfind("grad/", 0) != 0) continue;  // also skips "threads"
    const std::string pname = name.substr(5);
    ASSERT_TRUE(params.count(pname)) << pname;
    const auto expect = ref(name);
    const auto grad = params[pname].grad();
    ASSERT_TRUE(grad.defined()) << pname;
    const double scale = std::max(1.0, expect.abs().max().item<double>());
    EXPECT_LE(max_abs_diff(grad, expect), kTolerance * scale) << GetParam() << " grad of " << pname;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, Parity,
                         ::testing::Values("resnet18", "resnet34", "resnet50", "resnet101",
                                           "resnet152", "densenet121", "densenet161", "densenet169",
                                           "densenet201", "efficientnet_b0", "efficientnet_b1",
                                           "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
                                           "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                                           "efficientnet_v2_s", "efficientnet_v2_m",
                                           "efficientnet_v2_l", "convnext_tiny", "convnext_small",
                                           "convnext_base"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace mura
