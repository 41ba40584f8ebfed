// The exported TorchScript runs in Python (Debian's torch) and agrees with the C++ model.
#include "mura/weights/export.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"

namespace mura::weights {
namespace {

class Export : public ::testing::TestWithParam<std::pair<std::string, int64_t>> {};

TEST_P(Export, PythonRunsItAndAgreesWithTheCppModel) {
  const auto [arch, n_out] = GetParam();
  test::TempDir tmp;
  torch::manual_seed(21);
  ModelSpec spec;
  spec.arch = arch;
  spec.num_outputs = n_out;
  spec.image_size = 64;
  spec.threshold = 0.37;
  auto model = models::create_model(arch, n_out);
  // move BatchNorm statistics off their defaults so eval mode is really exercised
  model->train();
  {
    torch::NoGradGuard g;
    model->forward(torch::randn({4, 3, 64, 64}) * 2 + 0.5);
  }
  save_checkpoint(tmp / "c.ckpt", spec, *model);
  const Checkpoint ckpt = load_checkpoint(tmp / "c.ckpt");
  export_torchscript(ckpt, tmp / "model.pt");

  const auto x = torch::randn({3, 3, 64, 64});
  torch::Tensor expect;
  {
    torch::NoGradGuard g;
    ckpt.model->eval();
    const auto logits = ckpt.model->forward(x);
    expect =
        n_out == 1 ? torch::sigmoid(logits.select(1, 0)) : torch::softmax(logits, 1).select(1, 1);
  }
  write_file_atomic(tmp / "x.bin",
                    std::string_view(reinterpret_cast<const char*>(x.data_ptr<float>()),
                                     x.numel() * sizeof(float)));
  const auto r = test::run_command(std::string(MURA_PYTHON) + " '" + MURA_SOURCE_DIR +
                                   "/tests/reference/run_torchscript.py' '" +
                                   (tmp / "model.pt").string() + "' '" + (tmp / "x.bin").string() +
                                   "' 3 64 64 '" + (tmp / "y.bin").string() + "' 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto meta = nlohmann::json::parse(r.out);
  EXPECT_EQ(meta["architecture"], arch);
  EXPECT_EQ(meta["image_size"], 64);
  EXPECT_EQ(meta["num_outputs"], n_out);
  EXPECT_DOUBLE_EQ(meta["threshold"].get<double>(), 0.37);
  EXPECT_NEAR(meta["mean"][0].get<double>(), 0.485, 1e-6);
  EXPECT_EQ(meta["format_version"], kExportFormatVersion);
  EXPECT_EQ(meta["output_shape"], (std::vector<int>{3}));
  const std::string y = read_file(tmp / "y.bin");
  ASSERT_EQ(y.size(), 3 * sizeof(float));
  auto got = torch::empty({3});
  std::memcpy(got.data_ptr<float>(), y.data(), y.size());
  EXPECT_LE((got - expect).abs().max().item<double>(), 1e-5)
      << "python: " << got << "\nc++: " << expect;
}

INSTANTIATE_TEST_SUITE_P(
    Models, Export,
    ::testing::Values(std::make_pair(std::string("resnet18"), int64_t{1}),
                      std::make_pair(std::string("densenet121"), int64_t{2}),
                      std::make_pair(std::string("efficientnet_b0"), int64_t{1}),
                      std::make_pair(std::string("convnext_tiny"), int64_t{2})),
    [](const auto& info) { return info.param.first + "_" + std::to_string(info.param.second); });

}  // namespace
}  // namespace mura::weights
