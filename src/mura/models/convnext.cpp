#include "mura/models/convnext.h"

#include <torch/torch.h>

#include "mura/models/layers.h"
#include "mura/util/error.h"

namespace mura::models {
namespace nn = torch::nn;

namespace {

constexpr double kLayerNormEps = 1e-6;

torch::Tensor channels_last_view(const torch::Tensor& x) {
  return x.permute({0, 2, 3, 1});
}
torch::Tensor channels_first_view(const torch::Tensor& x) {
  return x.permute({0, 3, 1, 2});
}

/// linear(x) over the channels of [B, C, H, W]: a 1x1 convolution with the same weights.
torch::Tensor pointwise(const torch::Tensor& x, const nn::LinearImpl& linear) {
  const auto& w = linear.weight;
  return torch::conv2d(x, w.view({w.size(0), w.size(1), 1, 1}), linear.bias);
}

}  // namespace

ChannelNormImpl::ChannelNormImpl(int64_t channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor in = x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type());
  return torch::layer_norm(in, {weight.size(0)}, weight, bias, kLayerNormEps);
}

torch::Tensor LayerNorm2dImpl::forward(const torch::Tensor& x) {
  return channels_first_view(forward_flat(channels_last_view(x)));
}

CNBlockImpl::CNBlockImpl(int64_t dim, double stochastic_depth_prob)
    : stochastic_depth_prob_(stochastic_depth_prob) {
  dwconv_ = nn::Conv2d(nn::Conv2dOptions(dim, dim, 7).padding(3).groups(dim).bias(true));
  norm_ = ChannelNorm(dim);
  fc1_ = nn::Linear(dim, 4 * dim);
  fc2_ = nn::Linear(4 * dim, dim);
  // torchvision's block: conv, Permute, LayerNorm, Linear, GELU, Linear, Permute
  block_ = register_module(
      "block", nn::Sequential(dwconv_, nn::Functional(channels_last_view), norm_, fc1_, nn::GELU(),
                              fc2_, nn::Functional(channels_first_view)));
  layer_scale_ = register_parameter("layer_scale", torch::full({dim, 1, 1}, 1e-6));
}

torch::Tensor CNBlockImpl::forward(const torch::Tensor& x) {
  auto y = channels_first_view(norm_->forward(channels_last_view(dwconv_->forward(x))));
  y = pointwise(torch::gelu(pointwise(y, *fc1_)), *fc2_);
  return stochastic_depth(layer_scale_ * y, stochastic_depth_prob_, is_training()) + x;
}

ConvNeXtHeadImpl::ConvNeXtHeadImpl(int64_t channels) {
  norm = register_module("0", LayerNorm2d(channels));
}

ConvNeXtImpl::ConvNeXtImpl(std::string arch, const std::vector<int64_t>& dims,
                           const std::vector<int64_t>& depths, double stochastic_depth_prob,
                           int64_t num_outputs)
    : ClassifierImpl(std::move(arch)) {
  if (dims.size() != depths.size() || dims.empty())
    throw InternalError("ConvNeXt: one channel count per stage");
  features_ = nn::Sequential();
  features_->push_back(Sequence(nn::Conv2d(nn::Conv2dOptions(3, dims[0], 4).stride(4).bias(true)),
                                LayerNorm2d(dims[0])));
  int64_t total = 0;
  for (int64_t d : depths) total += d;
  int64_t id = 0;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    Sequence stage;
    for (int64_t j = 0; j < depths[i]; ++j) {
      const double p =
          stochastic_depth_prob * static_cast<double>(id++) / (static_cast<double>(total) - 1.0);
      stage->push_back(CNBlock(dims[i], p));
    }
    features_->push_back(stage);
    if (i + 1 < dims.size())
      features_->push_back(
          Sequence(LayerNorm2d(dims[i]),
                   nn::Conv2d(nn::Conv2dOptions(dims[i], dims[i + 1], 2).stride(2).bias(true))));
  }
  features_ = register_module("features", features_);
  classifier_ = register_module("classifier", ConvNeXtHead(dims.back()));
  register_head(dims.back(), num_outputs);

  // torchvision's ConvNeXt init: trunc_normal_(std 0.02) for convolution and Linear weights
  // (its bounds are +-2 absolute, 100 standard deviations: a plain normal), biases 0.
  torch::NoGradGuard no_grad;
  for (auto& mod : modules(false)) {
    if (auto* c = dynamic_cast<nn::Conv2dImpl*>(mod.get())) {
      c->weight.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
      nn::init::zeros_(c->bias);
    } else if (auto* l = dynamic_cast<nn::LinearImpl*>(mod.get())) {
      l->weight.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
      nn::init::zeros_(l->bias);
    }
  }
}

nn::Linear ConvNeXtImpl::place_head(nn::Linear linear, bool replace) {
  return replace ? classifier_->replace_module("2", std::move(linear))
                 : classifier_->register_module("2", std::move(linear));
}

torch::Tensor ConvNeXtImpl::forward_features(const torch::Tensor& x) {
  return features_->forward(x);
}

torch::Tensor ConvNeXtImpl::forward_head(const torch::Tensor& features) {
  auto x = torch::flatten(torch::adaptive_avg_pool2d(features, {1, 1}), 1);
  return head()->forward(classifier_->norm->forward_flat(x));
}

ConvNeXt convnext(const std::string& variant, int64_t num_outputs) {
  const std::string arch = "convnext_" + variant;
  if (variant == "tiny")
    return ConvNeXt(arch, std::vector<int64_t>{96, 192, 384, 768}, std::vector<int64_t>{3, 3, 9, 3},
                    0.1, num_outputs);
  if (variant == "small")
    return ConvNeXt(arch, std::vector<int64_t>{96, 192, 384, 768},
                    std::vector<int64_t>{3, 3, 27, 3}, 0.4, num_outputs);
  if (variant == "base")
    return ConvNeXt(arch, std::vector<int64_t>{128, 256, 512, 1024},
                    std::vector<int64_t>{3, 3, 27, 3}, 0.5, num_outputs);
  throw Error("unknown ConvNeXt variant '" + variant + "'");
}

}  // namespace mura::models
