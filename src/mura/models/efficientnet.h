#pragma once
/// EfficientNet-B0..B7 and EfficientNet-V2-S/M/L, a port of torchvision.models.efficientnet
/// (v0.14) with torchvision's module names (`features.0.0.weight`: the stem's convolution,
/// `features.3.1.block.2.fc1.weight`: a squeeze-excitation layer, `features.8.1.running_var`,
/// `classifier.1.weight`), so torchvision state dicts load unchanged and outputs agree
/// (tests/models/parity_test.cpp). Stochastic depth and the head's dropout are torchvision's
/// (drawn from the same generator calls, off in eval mode); BatchNorm has each variant's eps
/// and momentum (B5-B7: 1e-3 and 0.01; V2: 1e-3).
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <string>
#include <vector>

#include "mura/models/batchnorm.h"
#include "mura/models/classifier.h"

namespace mura::models {

/// torchvision.ops.Conv2dNormActivation with BatchNorm: `0` a bias-free convolution
/// (padding (k - 1) / 2), `1` BatchNorm, then SiLU (or nothing, for a projection).
class ConvNormActImpl : public torch::nn::Module {
 public:
  ConvNormActImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                  const torch::nn::BatchNormOptions& norm, bool silu);
  torch::Tensor forward(const torch::Tensor& x);
  /// Folds the BatchNorm into the convolution (eval mode; ClassifierImpl::fold_batchnorm).
  void fold_batchnorm();

 private:
  torch::nn::Conv2d conv_{nullptr};
  BatchNorm2d norm_{nullptr};
  bool silu_;
  bool folded_ = false;
};
TORCH_MODULE(ConvNormAct);

/// torchvision.ops.SqueezeExcitation with SiLU: x * sigmoid(fc2(silu(fc1(avgpool(x))))).
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

/// One stage's settings, as torchvision's MBConvConfig / FusedMBConvConfig (channels
/// already scaled by the width multiplier, layers by the depth multiplier).
struct MBConvSettings {
  bool fused = false;
  double expand_ratio = 1;
  int64_t kernel = 3, stride = 1, in = 0, out = 0, layers = 1;
};

/// MBConv (expand 1x1 when the ratio is not 1, depthwise k x k, squeeze-excitation, project
/// 1x1) or FusedMBConv (k x k expand, project 1x1; a single k x k when the ratio is 1), with
/// the residual connection (through stochastic depth) when stride is 1 and in == out.
class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(const MBConvSettings& s, double stochastic_depth_prob,
             const torch::nn::BatchNormOptions& norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential block_{nullptr};
  bool residual_;
  double stochastic_depth_prob_;
};
TORCH_MODULE(MBConv);

/// The head's `classifier` module: `0` dropout (no weights), `1` the Linear (ClassifierImpl).
class EfficientNetHeadImpl : public torch::nn::Module {
 public:
  explicit EfficientNetHeadImpl(double dropout) : dropout(dropout) {}
  double dropout;  ///< applied by EfficientNetImpl::forward_head
};
TORCH_MODULE(EfficientNetHead);

class EfficientNetImpl : public ClassifierImpl {
 public:
  /// `stages` as torchvision's inverted_residual_setting; `last_channel` 0: 4 x the last
  /// stage's channels (V1); `norm`: the variant's BatchNorm eps and momentum.
  EfficientNetImpl(std::string arch, const std::vector<MBConvSettings>& stages, double dropout,
                   int64_t last_channel, const torch::nn::BatchNormOptions& norm,
                   int64_t num_outputs, double stochastic_depth_prob = 0.2);
  /// The last 1x1 convolution's activations (after its BatchNorm and SiLU): the Grad-CAM
  /// target, [B, C, H/32, W/32].
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Pool, dropout (training only), Linear.
  torch::Tensor forward_head(const torch::Tensor& features) override;
  /// Every strided convolution (3x3 pad 1 or 5x5 pad 2) centres its output j on input 2j.
  FeatureGrid feature_grid() const override { return {32, 0}; }
  const char* head_name() const override { return "classifier"; }

 protected:
  void fold_batchnorm_impl() override;
  torch::nn::Linear place_head(torch::nn::Linear linear, bool replace) override;

 private:
  torch::nn::Sequential features_{nullptr};
  EfficientNetHead classifier_{nullptr};
};
TORCH_MODULE(EfficientNet);

/// "efficientnet_b0" ... "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m",
/// "efficientnet_v2_l" (anything else: mura::Error).
EfficientNet efficientnet(const std::string& variant, int64_t num_outputs = 1000);

}  // namespace mura::models
