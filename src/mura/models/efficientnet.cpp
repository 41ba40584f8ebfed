#include "mura/models/efficientnet.h"

#include <torch/torch.h>

#include <cmath>
#include <map>

#include "mura/models/layers.h"
#include "mura/models/optimize.h"
#include "mura/util/error.h"

namespace mura::models {
namespace nn = torch::nn;

namespace {

/// torchvision.models._utils._make_divisible(v, 8): the nearest multiple of 8, at least 8,
/// never more than 10% below v.
int64_t make_divisible(double v) {
  const int64_t divisor = 8;
  int64_t n =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(n) < 0.9 * v) n += divisor;
  return n;
}

}  // namespace

ConvNormActImpl::ConvNormActImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                 int64_t groups, const nn::BatchNormOptions& norm, bool silu)
    : silu_(silu) {
  conv_ = register_module("0", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                              .stride(stride)
                                              .padding((kernel - 1) / 2)
                                              .groups(groups)
                                              .bias(false)));
  auto o = norm;
  o.num_features() = out;
  norm_ = register_module("1", BatchNorm2d(o));
}

torch::Tensor ConvNormActImpl::forward(const torch::Tensor& x) {
  auto y = conv_(x);
  if (!folded_) y = norm_(y);
  return silu_ ? torch::silu(y) : y;
}

void ConvNormActImpl::fold_batchnorm() {
  conv_ = replace_module("0", fold_conv_batchnorm(*conv_, *norm_));
  folded_ = true;
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze) {
  fc1_ = register_module("fc1", nn::Conv2d(nn::Conv2dOptions(channels, squeeze, 1)));
  fc2_ = register_module("fc2", nn::Conv2d(nn::Conv2dOptions(squeeze, channels, 1)));
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& x) {
  auto s = torch::adaptive_avg_pool2d(x, {1, 1});
  s = torch::sigmoid(fc2_(torch::silu(fc1_(s))));
  return s * x;
}

MBConvImpl::MBConvImpl(const MBConvSettings& s, double stochastic_depth_prob,
                       const nn::BatchNormOptions& norm)
    : residual_(s.stride == 1 && s.in == s.out), stochastic_depth_prob_(stochastic_depth_prob) {
  if (s.stride < 1 || s.stride > 2) throw InternalError("MBConv: illegal stride");
  const int64_t expanded = make_divisible(static_cast<double>(s.in) * s.expand_ratio);
  block_ = nn::Sequential();
  if (s.fused) {
    if (expanded != s.in) {
      block_->push_back(ConvNormAct(s.in, expanded, s.kernel, s.stride, 1, norm, true));
      block_->push_back(ConvNormAct(expanded, s.out, 1, 1, 1, norm, false));
    } else {
      block_->push_back(ConvNormAct(s.in, s.out, s.kernel, s.stride, 1, norm, true));
    }
  } else {
    if (expanded != s.in) block_->push_back(ConvNormAct(s.in, expanded, 1, 1, 1, norm, true));
    block_->push_back(ConvNormAct(expanded, expanded, s.kernel, s.stride, expanded, norm, true));
    block_->push_back(SqueezeExcitation(expanded, std::max<int64_t>(1, s.in / 4)));
    block_->push_back(ConvNormAct(expanded, s.out, 1, 1, 1, norm, false));
  }
  block_ = register_module("block", block_);
}

torch::Tensor MBConvImpl::forward(const torch::Tensor& x) {
  auto result = block_->forward(x);
  if (residual_) result = stochastic_depth(result, stochastic_depth_prob_, is_training()) + x;
  return result;
}

EfficientNetImpl::EfficientNetImpl(std::string arch, const std::vector<MBConvSettings>& stages,
                                   double dropout, int64_t last_channel,
                                   const nn::BatchNormOptions& norm, int64_t num_outputs,
                                   double stochastic_depth_prob)
    : ClassifierImpl(std::move(arch)) {
  features_ = nn::Sequential();
  features_->push_back(ConvNormAct(3, stages.front().in, 3, 2, 1, norm, true));
  int64_t total = 0;
  for (const auto& s : stages) total += s.layers;
  int64_t id = 0;
  for (const auto& s : stages) {
    Sequence stage;
    for (int64_t i = 0; i < s.layers; ++i) {
      MBConvSettings b = s;
      if (i > 0) {
        b.in = b.out;
        b.stride = 1;
      }
      const double p =
          stochastic_depth_prob * static_cast<double>(id++) / static_cast<double>(total);
      stage->push_back(MBConv(b, p, norm));
    }
    features_->push_back(stage);
  }
  const int64_t last_in = stages.back().out;
  const int64_t last_out = last_channel > 0 ? last_channel : 4 * last_in;
  features_->push_back(ConvNormAct(last_in, last_out, 1, 1, 1, norm, true));
  features_ = register_module("features", features_);
  classifier_ = register_module("classifier", EfficientNetHead(dropout));
  register_head(last_out, num_outputs);

  // torchvision's EfficientNet init: kaiming_normal_(fan_out) for convolutions (bias 0),
  // BatchNorm 1/0, the Linear uniform(+-1/sqrt(outputs)) with bias 0.
  torch::NoGradGuard no_grad;
  for (auto& mod : modules(false)) {
    if (auto* c = dynamic_cast<nn::Conv2dImpl*>(mod.get())) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    } else if (auto* b = dynamic_cast<BatchNorm2dImpl*>(mod.get())) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    } else if (auto* l = dynamic_cast<nn::LinearImpl*>(mod.get())) {
      const double range = 1.0 / std::sqrt(static_cast<double>(l->options.out_features()));
      nn::init::uniform_(l->weight, -range, range);
      nn::init::zeros_(l->bias);
    }
  }
}

nn::Linear EfficientNetImpl::place_head(nn::Linear linear, bool replace) {
  return replace ? classifier_->replace_module("1", std::move(linear))
                 : classifier_->register_module("1", std::move(linear));
}

torch::Tensor EfficientNetImpl::forward_features(const torch::Tensor& x) {
  return features_->forward(x);
}

torch::Tensor EfficientNetImpl::forward_head(const torch::Tensor& features) {
  auto x = torch::flatten(torch::adaptive_avg_pool2d(features, {1, 1}), 1);
  x = torch::dropout(x, classifier_->dropout, is_training());
  return head()->forward(x);
}

void EfficientNetImpl::fold_batchnorm_impl() {
  for (auto& m : modules(false)) {
    if (auto* c = dynamic_cast<ConvNormActImpl*>(m.get())) c->fold_batchnorm();
  }
}

EfficientNet efficientnet(const std::string& variant, int64_t num_outputs) {
  struct V1 {
    double width, depth, dropout;
  };
  static const std::map<std::string, V1> v1 = {
      {"b0", {1.0, 1.0, 0.2}}, {"b1", {1.0, 1.1, 0.2}}, {"b2", {1.1, 1.2, 0.3}},
      {"b3", {1.2, 1.4, 0.3}}, {"b4", {1.4, 1.8, 0.4}}, {"b5", {1.6, 2.2, 0.4}},
      {"b6", {1.8, 2.6, 0.5}}, {"b7", {2.0, 3.1, 0.5}},
  };
  const std::string arch = "efficientnet_" + variant;
  if (auto it = v1.find(variant); it != v1.end()) {
    // (plain variables: a lambda cannot capture structured bindings in C++17)
    const double width = it->second.width, depth = it->second.depth;
    const double dropout = it->second.dropout;
    auto mb = [&](double e, int64_t k, int64_t s, int64_t in, int64_t out, int64_t n) {
      return MBConvSettings{false,
                            e,
                            k,
                            s,
                            make_divisible(static_cast<double>(in) * width),
                            make_divisible(static_cast<double>(out) * width),
                            static_cast<int64_t>(std::ceil(static_cast<double>(n) * depth))};
    };
    const std::vector<MBConvSettings> stages = {mb(1, 3, 1, 32, 16, 1),  mb(6, 3, 2, 16, 24, 2),
                                                mb(6, 5, 2, 24, 40, 2),  mb(6, 3, 2, 40, 80, 3),
                                                mb(6, 5, 1, 80, 112, 3), mb(6, 5, 2, 112, 192, 4),
                                                mb(6, 3, 1, 192, 320, 1)};
    auto norm = nn::BatchNormOptions(1);
    if (variant == "b5" || variant == "b6" || variant == "b7") norm.eps(1e-3).momentum(0.01);
    return EfficientNet(arch, stages, dropout, 0, norm, num_outputs);
  }
  auto fused = [](double e, int64_t k, int64_t s, int64_t in, int64_t out, int64_t n) {
    return MBConvSettings{true, e, k, s, in, out, n};
  };
  auto mb = [](double e, int64_t k, int64_t s, int64_t in, int64_t out, int64_t n) {
    return MBConvSettings{false, e, k, s, in, out, n};
  };
  std::vector<MBConvSettings> stages;
  double dropout = 0;
  if (variant == "v2_s") {
    stages = {fused(1, 3, 1, 24, 24, 2), fused(4, 3, 2, 24, 48, 4), fused(4, 3, 2, 48, 64, 4),
              mb(4, 3, 2, 64, 128, 6),   mb(6, 3, 1, 128, 160, 9),  mb(6, 3, 2, 160, 256, 15)};
    dropout = 0.2;
  } else if (variant == "v2_m") {
    stages = {fused(1, 3, 1, 24, 24, 3), fused(4, 3, 2, 24, 48, 5), fused(4, 3, 2, 48, 80, 5),
              mb(4, 3, 2, 80, 160, 7),   mb(6, 3, 1, 160, 176, 14), mb(6, 3, 2, 176, 304, 18),
              mb(6, 3, 1, 304, 512, 5)};
    dropout = 0.3;
  } else if (variant == "v2_l") {
    stages = {fused(1, 3, 1, 32, 32, 4), fused(4, 3, 2, 32, 64, 7), fused(4, 3, 2, 64, 96, 7),
              mb(4, 3, 2, 96, 192, 10),  mb(6, 3, 1, 192, 224, 19), mb(6, 3, 2, 224, 384, 25),
              mb(6, 3, 1, 384, 640, 7)};
    dropout = 0.4;
  } else {
    throw Error("unknown EfficientNet variant '" + variant + "'");
  }
  return EfficientNet(arch, stages, dropout, 1280, nn::BatchNormOptions(1).eps(1e-3), num_outputs);
}

}  // namespace mura::models
