#include "mura/models/densenet.h"

#include <torch/torch.h>

#include "mura/models/optimize.h"

namespace mura::models {
namespace nn = torch::nn;

DenseLayerImpl::DenseLayerImpl(int64_t num_input_features, int64_t growth_rate, int64_t bn_size,
                               double drop_rate)
    : drop_rate_(drop_rate) {
  norm1_ = register_module("norm1", BatchNorm2d(num_input_features));
  conv1_ = register_module(
      "conv1",
      nn::Conv2d(nn::Conv2dOptions(num_input_features, bn_size * growth_rate, 1).bias(false)));
  norm2_ = register_module("norm2", BatchNorm2d(bn_size * growth_rate));
  conv2_ = register_module(
      "conv2",
      nn::Conv2d(nn::Conv2dOptions(bn_size * growth_rate, growth_rate, 3).padding(1).bias(false)));
}

torch::Tensor DenseLayerImpl::forward(const std::vector<torch::Tensor>& inputs) {
  auto x = inputs.size() == 1 ? inputs[0] : torch::cat(inputs, 1);
  x = conv1_(torch::relu(norm1_(x)));
  x = conv2_(torch::relu(folded_ ? x : norm2_(x)));
  if (drop_rate_ > 0) x = torch::dropout(x, drop_rate_, is_training());
  return x;
}

void DenseLayerImpl::fold_batchnorm() {
  conv1_ = replace_module("conv1", fold_conv_batchnorm(*conv1_, *norm2_));
  folded_ = true;
}

DenseBlockImpl::DenseBlockImpl(int64_t num_layers, int64_t num_input_features, int64_t bn_size,
                               int64_t growth_rate, double drop_rate) {
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(register_module(
        "denselayer" + std::to_string(i + 1),
        DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate)));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features{x};
  features.reserve(layers_.size() + 1);
  for (auto& layer : layers_) features.push_back(layer->forward(features));
  return torch::cat(features, 1);
}

void DenseBlockImpl::fold_batchnorm() {
  for (auto& layer : layers_) layer->fold_batchnorm();
}

TransitionImpl::TransitionImpl(int64_t num_input_features, int64_t num_output_features) {
  norm_ = register_module("norm", BatchNorm2d(num_input_features));
  conv_ = register_module(
      "conv",
      nn::Conv2d(nn::Conv2dOptions(num_input_features, num_output_features, 1).bias(false)));
}

torch::Tensor TransitionImpl::forward(const torch::Tensor& x) {
  if (pool_first_) return conv_(torch::avg_pool2d(torch::relu(norm_(x)), 2, 2));
  return torch::avg_pool2d(conv_(torch::relu(norm_(x))), 2, 2);
}

DenseNetImpl::DenseNetImpl(std::string arch, int64_t growth_rate, std::vector<int64_t> block_config,
                           int64_t num_init_features, int64_t num_outputs, int64_t bn_size,
                           double drop_rate)
    : ClassifierImpl(std::move(arch)) {
  features_ = nn::Sequential();
  features_->push_back(
      "conv0",
      nn::Conv2d(nn::Conv2dOptions(3, num_init_features, 7).stride(2).padding(3).bias(false)));
  features_->push_back("norm0", BatchNorm2d(num_init_features));
  features_->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
  features_->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t num_features = num_init_features;
  for (std::size_t i = 0; i < block_config.size(); ++i) {
    features_->push_back(
        "denseblock" + std::to_string(i + 1),
        DenseBlock(block_config[i], num_features, bn_size, growth_rate, drop_rate));
    num_features += block_config[i] * growth_rate;
    if (i + 1 != block_config.size()) {
      features_->push_back("transition" + std::to_string(i + 1),
                           Transition(num_features, num_features / 2));
      num_features /= 2;
    }
  }
  features_->push_back("norm5", BatchNorm2d(num_features));
  features_ = register_module("features", features_);
  register_head(num_features, num_outputs);

  // torchvision's DenseNet init: kaiming_normal_ (fan_in) for convolutions, BatchNorm 1/0,
  // Linear bias 0.
  torch::NoGradGuard no_grad;
  for (auto& mod : modules(false)) {
    if (auto* c = dynamic_cast<nn::Conv2dImpl*>(mod.get())) {
      nn::init::kaiming_normal_(c->weight);
    } else if (auto* b = dynamic_cast<BatchNorm2dImpl*>(mod.get())) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    } else if (auto* l = dynamic_cast<nn::LinearImpl*>(mod.get())) {
      nn::init::zeros_(l->bias);
    }
  }
}

void DenseNetImpl::fold_batchnorm_impl() {
  const auto names = features_->named_children().keys();
  nn::Sequential folded;
  std::size_t i = 0;
  for (auto& any : *features_) {
    const std::string& name = names.at(i++);
    if (name == "norm0") continue;  // folded into conv0
    if (name == "conv0") {
      folded->push_back(
          "conv0",
          fold_conv_batchnorm(*std::dynamic_pointer_cast<nn::Conv2dImpl>(features_->ptr(0)),
                              *std::dynamic_pointer_cast<BatchNorm2dImpl>(features_->ptr(1))));
      continue;
    }
    if (auto* block = dynamic_cast<DenseBlockImpl*>(any.ptr().get())) block->fold_batchnorm();
    if (auto* transition = dynamic_cast<TransitionImpl*>(any.ptr().get())) transition->pool_first();
    folded->push_back(name, any);
  }
  features_ = replace_module("features", folded);
}

torch::Tensor DenseNetImpl::forward_features(const torch::Tensor& x) {
  return torch::relu(features_->forward(x));
}

DenseNet densenet121(int64_t n) {
  return DenseNet("densenet121", 32, std::vector<int64_t>{6, 12, 24, 16}, 64, n);
}
DenseNet densenet161(int64_t n) {
  return DenseNet("densenet161", 48, std::vector<int64_t>{6, 12, 36, 24}, 96, n);
}
DenseNet densenet169(int64_t n) {
  return DenseNet("densenet169", 32, std::vector<int64_t>{6, 12, 32, 32}, 64, n);
}
DenseNet densenet201(int64_t n) {
  return DenseNet("densenet201", 32, std::vector<int64_t>{6, 12, 48, 32}, 64, n);
}

}  // namespace mura::models
