// Grad-CAM and Grad-CAM++ against a Python reference (torchvision, hooks on the same layer,
// the same weights): Pearson r >= 0.999 and max abs difference <= 1e-4 on the normalised map.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/explain/gradcam.h"
#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/weights/torchvision.h"

namespace mura::explain {
namespace {
namespace fs = std::filesystem;

class GradCamParity : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto r =
        test::run_command(std::string(MURA_PYTHON) + " '" + MURA_SOURCE_DIR +
                          "/tests/reference/gradcam_reference.py' '" + dir_->path().string() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static torch::Tensor load(const fs::path& f, std::vector<int64_t> shape) {
    const std::string b = read_file(f);
    auto t = torch::empty(shape, torch::kFloat32);
    EXPECT_EQ(b.size(), static_cast<std::size_t>(t.numel()) * 4) << f;
    std::memcpy(t.data_ptr<float>(), b.data(), b.size());
    return t;
  }
  static test::TempDir* dir_;
};
test::TempDir* GradCamParity::dir_ = nullptr;

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.flatten().to(torch::kFloat64), y = b.flatten().to(torch::kFloat64);
  const auto xc = x - x.mean(), yc = y - y.mean();
  return ((xc * yc).sum() / (xc.norm() * yc.norm())).item<double>();
}

TEST_P(GradCamParity, MatchesTheTorchvisionHookReference) {
  const fs::path d = dir_->path() / GetParam();
  const auto meta = nlohmann::json::parse(read_file(d / "meta.json"));
  torch::set_num_threads(meta["threads"].get<int>());
  auto model = models::create_model(GetParam(), 1);
  weights::load_torchvision_weights(*model, d / "weights.pth");
  model->train();  // compute_cam must switch to eval mode itself and restore this
  const auto x = load(d / "input.bin", {2, 3, 224, 224});
  const auto shape = meta["cam_shape"].get<std::vector<int64_t>>();
  for (const auto& [method, file] : {std::pair{CamMethod::GradCam, "gradcam.bin"},
                                     std::pair{CamMethod::GradCamPlusPlus, "gradcampp.bin"}}) {
    const auto got = compute_cam(*model, x, method);
    const auto expect = load(d / file, shape);
    ASSERT_EQ(got.cams.sizes(), expect.sizes());
    for (int64_t b = 0; b < 2; ++b) {
      const double r = pearson(got.cams[b], expect[b]);
      const double diff = (got.cams[b] - expect[b]).abs().max().item<double>();
      std::printf("%s %s image %lld: pearson %.6f, max abs diff %.2e\n", GetParam().c_str(),
                  cam_method_name(method), static_cast<long long>(b), r, diff);
      EXPECT_GE(r, 0.999) << cam_method_name(method);
      EXPECT_LE(diff, 1e-4) << cam_method_name(method);
    }
    const auto probs = load(d / "probs.bin", {2});
    EXPECT_LE((got.probabilities.to(torch::kFloat32) - probs).abs().max().item<double>(), 1e-5);
  }
  EXPECT_TRUE(model->is_training()) << "the model's mode is restored";
  for (const auto& p : model->parameters())
    EXPECT_FALSE(p.grad().defined()) << "no gradient leaks into weights";
}

INSTANTIATE_TEST_SUITE_P(Torchvision, GradCamParity,
                         ::testing::Values("resnet18", "densenet121", "efficientnet_b0",
                                           "convnext_tiny"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace mura::explain
