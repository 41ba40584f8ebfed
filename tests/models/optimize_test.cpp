// Inference preparation and the precision policy: folded BatchNorm equals the unfolded
// model, channels-last changes no value, bf16 autocast stays close to fp32 (tolerances
// stated below), and the policy picks what the hardware supports.
#include "mura/models/optimize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../test_util.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/threads.h"
#include "mura/util/torch_compat.h"
#include "mura/weights/torchvision.h"

namespace mura::models {
namespace {

/// A model whose BatchNorm layers hold non-trivial statistics and affine parameters (a
/// freshly initialised one has mean 0, var 1, gamma 1, beta 0, which would hide mistakes).
std::shared_ptr<ClassifierImpl> model_with_statistics(const std::string& arch, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  auto m = create_model(arch, 1);
  torch::NoGradGuard no_grad;
  for (auto& mod : m->modules(false))
    if (auto* bn = dynamic_cast<models::BatchNorm2dImpl*>(mod.get())) {
      bn->running_mean.normal_(0.0, 0.2);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0.0, 0.1);
    }
  m->eval();
  return m;
}

std::shared_ptr<ClassifierImpl> copy_of(ClassifierImpl& src) {
  auto m = create_model(src.arch(), src.num_outputs());
  weights::load_state_dict(*m, weights::model_state_dict(src), "copy");
  m->eval();
  return m;
}

/// How many convolutions a BatchNorm directly follows, i.e. how many fold_batchnorm folds:
/// ResNet: every convolution (the stem, each block's 2 or 3, each downsample). DenseNet: the
/// stem conv0 (norm0) and each dense layer's conv1 (norm2); a dense layer's conv2 and the
/// transitions' convolutions come after their BatchNorm (norm1, norm), not before one.
/// EfficientNet-B0: every Conv2dNormActivation (the stem, the first block's 2, the other 15
/// blocks' 3, the last 1x1), not the squeeze-excitation convolutions. ConvNeXt: none (it
/// has LayerNorm only).
int convolutions_followed_by_batchnorm(const std::string& arch) {
  if (arch == "resnet18") return 1 + 8 * 2 + 3;              // 20
  if (arch == "resnet50") return 1 + 16 * 3 + 4;             // 53
  if (arch == "densenet121") return 1 + (6 + 12 + 24 + 16);  // 59 of its 120
  if (arch == "efficientnet_b0") return 1 + 2 + 15 * 3 + 1;  // 49 of its 81
  if (arch == "convnext_tiny") return 0;
  ADD_FAILURE() << "no expected count for " << arch;
  return -1;
}

/// Convolutions with a bias before folding: EfficientNet's squeeze-excitation pairs (16 x
/// 2 in B0), all of ConvNeXt's (stem, 18 depthwise, 3 downsampling), none in the others.
std::size_t biased_convolutions(const std::string& arch) {
  if (arch == "efficientnet_b0") return 16 * 2;
  if (arch == "convnext_tiny") return 1 + 18 + 3;
  return 0;
}

std::vector<std::string> convolutions(torch::nn::Module& m, bool biased) {
  std::vector<std::string> names;
  for (const auto& item : m.named_modules("", false))
    if (auto* c = dynamic_cast<torch::nn::Conv2dImpl*>(item.value().get()))
      if (c->bias.defined() == biased) names.push_back(item.key());
  return names;
}

class FoldedBatchNorm : public ::testing::TestWithParam<const char*> {};

TEST_P(FoldedBatchNorm, EqualsTheUnfoldedModelWithin1e4) {
  auto model = model_with_statistics(GetParam(), 7);
  auto folded = copy_of(*model);
  folded->fold_batchnorm();
  EXPECT_TRUE(folded->inference_only());
  torch::manual_seed(3);
  const auto x = torch::randn({2, 3, 64, 64});
  torch::NoGradGuard no_grad;
  const auto a = model->forward(x), b = folded->forward(x);
  const auto fa = model->forward_features(x), fb = folded->forward_features(x);
  const double logit_diff = (a - b).abs().max().item<double>();
  const double feature_diff = (fa - fb).abs().max().item<double>();
  std::printf(
      "%s: folded vs unfolded max |logit diff| %.3g, max |feature diff| %.3g (feature max %.3g)\n",
      GetParam(), logit_diff, feature_diff, fa.abs().max().item<double>());
  EXPECT_LE(logit_diff, 1e-4);
  EXPECT_LE(feature_diff, 1e-4 * std::max(1.0, fa.abs().max().item<double>()));
  // Every convolution that a BatchNorm follows is folded into one with a bias; no other
  // convolution gains one, and none is added or lost.
  const auto unfolded_plain = convolutions(*model, false);
  const auto unfolded_biased = convolutions(*model, true);
  EXPECT_EQ(unfolded_biased.size(), biased_convolutions(GetParam()));
  const auto biased = convolutions(*folded, true), plain = convolutions(*folded, false);
  EXPECT_EQ(static_cast<int>(biased.size() - unfolded_biased.size()),
            convolutions_followed_by_batchnorm(GetParam()));
  EXPECT_EQ(biased.size() + plain.size(), unfolded_plain.size() + unfolded_biased.size());
  if (std::string(GetParam()).rfind("densenet", 0) == 0) {
    for (const auto& name : plain)
      EXPECT_TRUE(test::contains(name, ".conv2") || test::contains(name, "transition"))
          << name << " should have been folded";
  } else {
    EXPECT_TRUE(plain.empty()) << plain.size() << " convolution(s) left unfolded, first "
                               << (plain.empty() ? "" : plain[0]);
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, FoldedBatchNorm,
                         ::testing::Values("resnet18", "resnet50", "densenet121", "efficientnet_b0",
                                           "convnext_tiny"));

TEST(FoldedBatchNormModel, IsInferenceOnlyAndFoldingTwiceChangesNothing) {
  auto model = model_with_statistics("resnet18", 1);
  model->fold_batchnorm();
  EXPECT_THROW(model->train(true), Error);
  const auto x = torch::randn({1, 3, 48, 48});
  torch::NoGradGuard no_grad;
  const auto once = model->forward(x);
  model->fold_batchnorm();
  EXPECT_TRUE(torch::equal(once, model->forward(x)));
}

TEST(FoldConvBatchNorm, MatchesBatchNormOfConvolutionOnAConvWithBias) {
  torch::manual_seed(5);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(4, 6, 3).padding(1).stride(2).bias(true));
  models::BatchNorm2d bn(6);
  {
    torch::NoGradGuard g;
    bn->running_mean.normal_();
    bn->running_var.uniform_(0.1, 3.0);
    bn->weight.normal_();
    bn->bias.normal_();
  }
  bn->eval();
  auto folded = fold_conv_batchnorm(*conv, *bn);
  const auto x = torch::randn({3, 4, 9, 9});
  torch::NoGradGuard g;
  EXPECT_LE((bn(conv(x)) - folded(x)).abs().max().item<double>(), 1e-5);
  models::BatchNorm2d wrong(5);
  EXPECT_THROW(fold_conv_batchnorm(*conv, *wrong), Error);
}

class ChannelsLast : public ::testing::TestWithParam<const char*> {};

TEST_P(ChannelsLast, ChangesTheLayoutNotTheOutput) {
  auto model = model_with_statistics(GetParam(), 2);
  auto cl = copy_of(*model);
  to_channels_last(*cl);
  for (const auto& p : cl->parameters())
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(torch::MemoryFormat::ChannelsLast));
    }
  torch::manual_seed(4);
  const auto x = torch::randn({2, 3, 64, 64});
  torch::NoGradGuard no_grad;
  const double diff =
      (model->forward(x) - cl->forward(x.contiguous(torch::MemoryFormat::ChannelsLast)))
          .abs()
          .max()
          .item<double>();
  std::printf("%s channels-last vs contiguous: max |logit diff| %.3g\n", GetParam(), diff);
  EXPECT_LE(diff, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ChannelsLast,
                         ::testing::Values("densenet121", "efficientnet_b0", "convnext_tiny"));

// bf16 keeps 8 bits of mantissa (~2-3 decimal digits): on a fixed model and input we ask the
// probabilities to agree within 0.02 and the logits to keep their order (Pearson r >= 0.99).
class Bf16Autocast : public ::testing::TestWithParam<const char*> {};

TEST_P(Bf16Autocast, AgreesWithFp32OnAFixedModelAndInput) {
  // BatchNorm statistics of real activations (one train-mode batch, cumulative average, as
  // tests/reference/reference_models.py does): with made-up ones EfficientNet's logits barely
  // depend on the input (a spread of 1e-6), and then no precision could be compared.
  torch::manual_seed(9);
  auto model = create_model(GetParam(), 1);
  for (auto& m : model->modules(false))
    if (auto* bn = dynamic_cast<models::BatchNorm2dImpl*>(m.get()))
      bn->options.momentum() = c10::nullopt;  // (`= {}` would set 0: c10::optional's U = T)
  model->train();
  {
    torch::NoGradGuard no_grad;
    model->forward(torch::randn({8, 3, 64, 64}));
  }
  prepare_for_inference(*model, {true, true});
  torch::manual_seed(8);
  // images of different brightness and contrast: a randomly initialised network gives them
  // logits that differ (white noise of one distribution would get nearly one logit)
  const auto x = (torch::randn({16, 3, 64, 64}) * torch::rand({16, 1, 1, 1}).mul(1.5).add(0.5) +
                  torch::rand({16, 1, 1, 1}).mul(2).sub(1))
                     .contiguous(torch::MemoryFormat::ChannelsLast);
  torch::InferenceMode guard;
  const auto fp32 = model->forward(x).to(torch::kFloat32).flatten();
  torch::Tensor bf16;
  {
    compat::AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
    bf16 = model->forward(x);
  }
  EXPECT_EQ(bf16.scalar_type(), torch::kBFloat16) << "autocast did not reach the head";
  bf16 = bf16.to(torch::kFloat32).flatten();
  const double pdiff = (torch::sigmoid(fp32) - torch::sigmoid(bf16)).abs().max().item<double>();
  const auto a = fp32 - fp32.mean(), b = bf16 - bf16.mean();
  const double r = ((a * b).sum() / (a.norm() * b.norm())).item<double>();
  std::printf(
      "%s bf16 vs fp32: max |probability diff| %.4f, logit Pearson r %.5f (fp32 logits' "
      "spread %.3g)\n",
      GetParam(), pdiff, r, fp32.std().item<double>());
  EXPECT_LE(pdiff, 0.02);
  EXPECT_GE(r, 0.99);
}

INSTANTIATE_TEST_SUITE_P(Architectures, Bf16Autocast,
                         ::testing::Values("resnet18", "convnext_tiny"));

// A randomly initialised EfficientNet is chaotic (with the statistics above its logits
// spread over 1e4, torchvision's own over 2.6e4): bf16 rounding early on changes its logits
// wholesale, so values are compared on the other two; here autocast must run it end to end
// (every block, the squeeze-excitation, the head) in bf16 with finite results.
TEST(Bf16Autocast, RunsEfficientNetEndToEnd) {
  torch::manual_seed(9);
  auto model = create_model("efficientnet_b0", 2);
  prepare_for_inference(*model, {true, true});
  const auto x = torch::randn({4, 3, 64, 64}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::InferenceMode guard;
  compat::AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
  const auto features = model->forward_features(x);
  EXPECT_EQ(features.scalar_type(), torch::kBFloat16);
  const auto logits = model->forward(x);
  EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(PrecisionPolicy, AutoPicksBf16OnlyWhereTheHardwareHasIt) {
  const PrecisionCapabilities none{false, false}, cpu{true, false}, gpu{false, true};
  EXPECT_EQ(resolve_precision("auto", torch::kCPU, none).precision, Precision::FP32);
  EXPECT_EQ(resolve_precision("auto", torch::kCPU, cpu).precision, Precision::BF16);
  EXPECT_EQ(resolve_precision("AUTO", torch::kCPU, cpu).precision, Precision::BF16);
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA, 0), gpu).precision,
            Precision::BF16);
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA, 0), none).precision,
            Precision::FP32);
  EXPECT_EQ(resolve_precision("fp32", torch::kCPU, cpu).precision, Precision::FP32);
  EXPECT_EQ(resolve_precision("bf16", torch::kCPU, none).precision,
            Precision::BF16);  // emulated, allowed
  EXPECT_TRUE(test::contains(resolve_precision("bf16", torch::kCPU, none).reason, "emulated"));
  EXPECT_EQ(resolve_precision("fp16", torch::Device(torch::kCUDA, 0), none).precision,
            Precision::FP16);
  // --amp: low precision always; fp16 on a GPU without bf16
  EXPECT_EQ(resolve_precision("amp", torch::kCPU, none).precision, Precision::BF16);
  EXPECT_EQ(resolve_precision("amp", torch::Device(torch::kCUDA, 0), none).precision,
            Precision::FP16);
  EXPECT_EQ(resolve_precision("amp", torch::Device(torch::kCUDA, 0), gpu).precision,
            Precision::BF16);
}

TEST(PrecisionPolicy, ImpossibleChoicesAreErrorsNamingTheFlag) {
  const PrecisionCapabilities cpu{true, false};
  EXPECT_ERROR_CONTAINS(resolve_precision("fp16", torch::kCPU, cpu),
                        "--precision fp16 needs a CUDA device")
      << "fp16 on a CPU";
  EXPECT_ERROR_CONTAINS(resolve_precision("int8", torch::kCPU, cpu),
                        "--precision: expected auto, fp32, bf16 or fp16, got 'int8'");
  EXPECT_THROW(resolve_precision("bf16", torch::Device(torch::kCUDA, 0), PrecisionCapabilities{}),
               Error);
  EXPECT_EQ(parse_precision(precision_name(Precision::BF16)), Precision::BF16);
  EXPECT_EQ(parse_precision(precision_name(Precision::FP16)), Precision::FP16);
  EXPECT_EQ(parse_precision(precision_name(Precision::FP32)), Precision::FP32);
}

TEST(PrecisionPolicy, DetectionAgreesWithTheCpuFlagsTheKernelReports) {
  // /proc/cpuinfo lists avx512_bf16 / amx_bf16 when the CPU (and kernel) have them.
  std::FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (!f) GTEST_FAIL() << "no /proc/cpuinfo to compare with";
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  const bool listed =
      text.find(" avx512_bf16") != std::string::npos || text.find(" amx_bf16") != std::string::npos;
  EXPECT_EQ(cpu_has_native_bf16(), listed);
  std::printf("this CPU computes bf16 natively: %s\n", listed ? "yes" : "no");
}

TEST(ThreadPlan, FitsTheMachineAndHonoursOverrides) {
  auto p = plan_threads(0, -1, false, 2);
  EXPECT_EQ(p.compute_threads, 2);
  EXPECT_EQ(p.loader_workers, 1);
  p = plan_threads(0, -1, false, 32);
  EXPECT_EQ(p.compute_threads, 32);
  EXPECT_EQ(p.loader_workers, 8);
  p = plan_threads(0, -1, true, 16);
  EXPECT_EQ(p.compute_threads, 2);
  EXPECT_EQ(p.loader_workers, 14);
  p = plan_threads(3, 0, false, 16);
  EXPECT_EQ(p.compute_threads, 3);
  EXPECT_EQ(p.loader_workers, 0);
  EXPECT_EQ(plan_threads(1, 1, false, 1).describe(), "1 compute thread, 1 loader worker");
}

}  // namespace
}  // namespace mura::models
