#include "mura/models/resnet.h"

#include <torch/torch.h>

#include "mura/models/optimize.h"

namespace mura::models {
namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(false));
}

/// torchvision's ResNet init: kaiming_normal_(fan_out, relu) for convolutions; BatchNorm
/// weight 1, bias 0 (the Linear head keeps nn.Linear's default init).
void init_weights(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& mod : m.modules(false)) {
    if (auto* c = dynamic_cast<nn::Conv2dImpl*>(mod.get())) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = dynamic_cast<BatchNorm2dImpl*>(mod.get())) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

/// downsample = Sequential(conv, bn) -> Sequential(folded conv).
nn::Sequential fold_downsample(const nn::Sequential& ds) {
  return nn::Sequential(
      fold_conv_batchnorm(*std::dynamic_pointer_cast<nn::Conv2dImpl>(ds->ptr(0)),
                          *std::dynamic_pointer_cast<BatchNorm2dImpl>(ds->ptr(1))));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride,
                               nn::Sequential downsample) {
  conv1_ = register_module("conv1", conv(inplanes, planes, 3, stride, 1));
  bn1_ = register_module("bn1", BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2_ = register_module("bn2", BatchNorm2d(planes));
  if (downsample) downsample_ = register_module("downsample", downsample);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  if (folded_) {
    auto out = conv2_(torch::relu(conv1_(x)));
    out += downsample_ ? downsample_->forward(x) : x;
    return torch::relu(out);
  }
  auto out = torch::relu(bn1_(conv1_(x)));
  out = bn2_(conv2_(out));
  out += downsample_ ? downsample_->forward(x) : x;
  return torch::relu(out);
}

void BasicBlockImpl::fold_batchnorm() {
  conv1_ = replace_module("conv1", fold_conv_batchnorm(*conv1_, *bn1_));
  conv2_ = replace_module("conv2", fold_conv_batchnorm(*conv2_, *bn2_));
  if (downsample_) downsample_ = replace_module("downsample", fold_downsample(downsample_));
  folded_ = true;
}

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride,
                               nn::Sequential downsample) {
  conv1_ = register_module("conv1", conv(inplanes, planes, 1, 1, 0));
  bn1_ = register_module("bn1", BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3, stride, 1));
  bn2_ = register_module("bn2", BatchNorm2d(planes));
  conv3_ = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
  bn3_ = register_module("bn3", BatchNorm2d(planes * kExpansion));
  if (downsample) downsample_ = register_module("downsample", downsample);
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  if (folded_) {
    auto out = conv3_(torch::relu(conv2_(torch::relu(conv1_(x)))));
    out += downsample_ ? downsample_->forward(x) : x;
    return torch::relu(out);
  }
  auto out = torch::relu(bn1_(conv1_(x)));
  out = torch::relu(bn2_(conv2_(out)));
  out = bn3_(conv3_(out));
  out += downsample_ ? downsample_->forward(x) : x;
  return torch::relu(out);
}

void BottleneckImpl::fold_batchnorm() {
  conv1_ = replace_module("conv1", fold_conv_batchnorm(*conv1_, *bn1_));
  conv2_ = replace_module("conv2", fold_conv_batchnorm(*conv2_, *bn2_));
  conv3_ = replace_module("conv3", fold_conv_batchnorm(*conv3_, *bn3_));
  if (downsample_) downsample_ = replace_module("downsample", fold_downsample(downsample_));
  folded_ = true;
}

ResNetImpl::ResNetImpl(std::string arch, bool bottleneck, std::vector<int64_t> layers,
                       int64_t num_outputs)
    : ClassifierImpl(std::move(arch)) {
  conv1_ = register_module("conv1", conv(3, 64, 7, 2, 3));
  bn1_ = register_module("bn1", BatchNorm2d(64));
  layer1_ = register_module("layer1", make_layer(bottleneck, 64, layers.at(0), 1));
  layer2_ = register_module("layer2", make_layer(bottleneck, 128, layers.at(1), 2));
  layer3_ = register_module("layer3", make_layer(bottleneck, 256, layers.at(2), 2));
  layer4_ = register_module("layer4", make_layer(bottleneck, 512, layers.at(3), 2));
  init_weights(*this);
  register_head(512 * (bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion),
                num_outputs);
}

nn::Sequential ResNetImpl::make_layer(bool bottleneck, int64_t planes, int64_t blocks,
                                      int64_t stride) {
  const int64_t expansion = bottleneck ? BottleneckImpl::kExpansion : BasicBlockImpl::kExpansion;
  nn::Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != planes * expansion)
    downsample = nn::Sequential(conv(inplanes_, planes * expansion, 1, stride, 0),
                                BatchNorm2d(planes * expansion));
  nn::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t s = i == 0 ? stride : 1;
    auto ds = i == 0 ? downsample : nn::Sequential{nullptr};
    if (bottleneck)
      layer->push_back(Bottleneck(inplanes_, planes, s, ds));
    else
      layer->push_back(BasicBlock(inplanes_, planes, s, ds));
    inplanes_ = planes * expansion;
  }
  return layer;
}

void ResNetImpl::fold_batchnorm_impl() {
  conv1_ = replace_module("conv1", fold_conv_batchnorm(*conv1_, *bn1_));
  for (const auto& layer : {layer1_, layer2_, layer3_, layer4_})
    for (const auto& child : layer->children()) {
      if (auto* b = dynamic_cast<BasicBlockImpl*>(child.get())) b->fold_batchnorm();
      if (auto* b = dynamic_cast<BottleneckImpl*>(child.get())) b->fold_batchnorm();
    }
}

torch::Tensor ResNetImpl::forward_features(const torch::Tensor& x) {
  auto out = inference_only() ? torch::relu(conv1_(x)) : torch::relu(bn1_(conv1_(x)));
  out = torch::max_pool2d(out, 3, 2, 1);
  out = layer1_->forward(out);
  out = layer2_->forward(out);
  out = layer3_->forward(out);
  return layer4_->forward(out);
}

ResNet resnet18(int64_t n) {
  return ResNet("resnet18", false, std::vector<int64_t>{2, 2, 2, 2}, n);
}
ResNet resnet34(int64_t n) {
  return ResNet("resnet34", false, std::vector<int64_t>{3, 4, 6, 3}, n);
}
ResNet resnet50(int64_t n) {
  return ResNet("resnet50", true, std::vector<int64_t>{3, 4, 6, 3}, n);
}
ResNet resnet101(int64_t n) {
  return ResNet("resnet101", true, std::vector<int64_t>{3, 4, 23, 3}, n);
}
ResNet resnet152(int64_t n) {
  return ResNet("resnet152", true, std::vector<int64_t>{3, 8, 36, 3}, n);
}

}  // namespace mura::models
