#pragma once
/// ConvNeXt-Tiny/Small/Base, a port of torchvision.models.convnext (v0.14) with torchvision's
/// module names (`features.0.0.weight`: the 4x4 stem, `features.5.3.block.3.weight`: a
/// block's first Linear, `features.5.3.layer_scale`, `features.6.0.weight`: a downsampling
/// LayerNorm, `classifier.0.weight`, `classifier.2.weight`), so torchvision state dicts load
/// unchanged and outputs agree (tests/models/parity_test.cpp). Stochastic depth as
/// torchvision's (0.1 / 0.4 / 0.5 at the last block, growing linearly from 0), off in eval
/// mode. No BatchNorm: nothing to fold, and --sync-bn changes nothing.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <vector>

#include "mura/models/classifier.h"

namespace mura::models {

/// LayerNorm over the last dimension of [..., C] (eps 1e-6) with `weight` and `bias` of [C]:
/// nn.LayerNorm in a ConvNeXt block (channels last there). A bf16/fp16 input is normalised in
/// float32 and the result stays float32, as autocast's float32 ops do (LibTorch 1.13's CPU
/// autocast has no rule for layer_norm, whose kernel refuses mixed dtypes).
class ChannelNormImpl : public torch::nn::Module {
 public:
  explicit ChannelNormImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;
};
TORCH_MODULE(ChannelNorm);

/// torchvision's LayerNorm2d: the same over the channels of [B, C, H, W].
class LayerNorm2dImpl : public ChannelNormImpl {
 public:
  using ChannelNormImpl::ChannelNormImpl;
  torch::Tensor forward(const torch::Tensor& x);
  /// The normalisation of [B, C] (the pooled features in the head).
  torch::Tensor forward_flat(const torch::Tensor& x) { return ChannelNormImpl::forward(x); }
};
TORCH_MODULE(LayerNorm2d);

/// dwconv 7x7 -> LayerNorm -> Linear 4C -> GELU -> Linear C, scaled per channel by
/// `layer_scale` (1e-6 at init), through stochastic depth, plus the input. The two Linears
/// keep torchvision's names and shapes (`block.3`, `block.5`) but run as 1x1 convolutions
/// of their weights: the same map, computed by oneDNN instead of the generic BLAS that
/// Debian's LibTorch has for matrix products (26x faster on one layer here; README).
class CNBlockImpl : public torch::nn::Module {
 public:
  CNBlockImpl(int64_t dim, double stochastic_depth_prob);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential block_{nullptr};  ///< for the names: 0 conv, 2 norm, 3 and 5 Linear
  torch::nn::Conv2d dwconv_{nullptr};
  ChannelNorm norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::Tensor layer_scale_;
  double stochastic_depth_prob_;
};
TORCH_MODULE(CNBlock);

/// The head's `classifier` module: `0` LayerNorm2d, (`1` torchvision's Flatten, no weights),
/// `2` the Linear (ClassifierImpl).
class ConvNeXtHeadImpl : public torch::nn::Module {
 public:
  explicit ConvNeXtHeadImpl(int64_t channels);
  LayerNorm2d norm{nullptr};
};
TORCH_MODULE(ConvNeXtHead);

class ConvNeXtImpl : public ClassifierImpl {
 public:
  /// `dims` and `depths`: the four stages' channels and blocks ({96, 192, 384, 768} and
  /// {3, 3, 9, 3} for Tiny).
  ConvNeXtImpl(std::string arch, const std::vector<int64_t>& dims,
               const std::vector<int64_t>& depths, double stochastic_depth_prob,
               int64_t num_outputs);
  /// The last stage's output (before the head's LayerNorm): the Grad-CAM target.
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Pool, LayerNorm, Linear.
  torch::Tensor forward_head(const torch::Tensor& features) override;
  /// The 4x4 stride-4 stem centres cell j on input 4 j + 1.5, each 2x2 stride-2 downsampling
  /// makes a j + b into 2 a j + a / 2 + b: 8 j + 3.5, 16 j + 7.5, 32 j + 15.5.
  FeatureGrid feature_grid() const override { return {32, 15.5}; }
  const char* head_name() const override { return "classifier"; }

 protected:
  void fold_batchnorm_impl() override {}
  torch::nn::Linear place_head(torch::nn::Linear linear, bool replace) override;

 private:
  torch::nn::Sequential features_{nullptr};
  ConvNeXtHead classifier_{nullptr};
};
TORCH_MODULE(ConvNeXt);

/// "convnext_tiny", "convnext_small", "convnext_base" (anything else: mura::Error).
ConvNeXt convnext(const std::string& variant, int64_t num_outputs = 1000);

}  // namespace mura::models
