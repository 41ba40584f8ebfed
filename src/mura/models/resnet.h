#pragma once
/// ResNet-18/34/50/101/152, a port of torchvision.models.resnet (v0.14) with every
/// parameter and buffer registered under torchvision's name and shape
/// (`conv1.weight`, `layer3.4.bn2.running_var`, `layer1.0.downsample.0.weight`, `fc.bias`),
/// so torchvision state dicts load unchanged and outputs agree (tests/models/parity_test.cpp).
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <vector>

#include "mura/models/batchnorm.h"
#include "mura/models/classifier.h"

namespace mura::models {

/// 3x3 convolutions; expansion 1 (ResNet-18/34).
class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride,
                 torch::nn::Sequential downsample);
  torch::Tensor forward(const torch::Tensor& x);
  /// Folds each BatchNorm into its convolution (eval mode; see ClassifierImpl::fold_batchnorm).
  void fold_batchnorm();

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
  bool folded_ = false;
};
TORCH_MODULE(BasicBlock);

/// 1x1 -> 3x3 (stride here, as torchvision's "ResNet v1.5") -> 1x1; expansion 4.
class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride,
                 torch::nn::Sequential downsample);
  torch::Tensor forward(const torch::Tensor& x);
  void fold_batchnorm();

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
  bool folded_ = false;
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public ClassifierImpl {
 public:
  /// `bottleneck` selects Bottleneck blocks; `layers` is blocks per stage ({3,4,6,3} for 50).
  ResNetImpl(std::string arch, bool bottleneck, std::vector<int64_t> layers, int64_t num_outputs);
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// Every stride-2 layer (conv1 7x7 pad 3, maxpool 3x3 pad 1, the 3x3 pad 1 and 1x1
  /// downsampling convs of layer2-4) centres its output j on its input 2j: layer4's cell j
  /// looks at input pixel 32 j, half a cell up and left of a plain resize's 32 j + 15.5.
  FeatureGrid feature_grid() const override { return {32, 0}; }
  const char* head_name() const override { return "fc"; }

 protected:
  void fold_batchnorm_impl() override;

 private:
  torch::nn::Sequential make_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stride);
  int64_t inplanes_ = 64;
  torch::nn::Conv2d conv1_{nullptr};
  BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
};
TORCH_MODULE(ResNet);

ResNet resnet18(int64_t num_outputs = 1000);
ResNet resnet34(int64_t num_outputs = 1000);
ResNet resnet50(int64_t num_outputs = 1000);
ResNet resnet101(int64_t num_outputs = 1000);
ResNet resnet152(int64_t num_outputs = 1000);

}  // namespace mura::models
