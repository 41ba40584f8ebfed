#pragma once
/// DenseNet-121/161/169/201, a port of torchvision.models.densenet (v0.14) with
/// torchvision's module names (`features.conv0`, `features.denseblock2.denselayer3.norm1`,
/// `features.transition1.conv`, `features.norm5`, `classifier`). torchvision's oldest
/// published weights use legacy key names (`norm.1` for `norm1`); weights/torchvision.h maps
/// them. The memory-efficient (checkpointed) variant is not needed for these outputs.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <vector>

#include "mura/models/batchnorm.h"
#include "mura/models/classifier.h"

namespace mura::models {

/// BN-ReLU-Conv1x1 (bottleneck to bn_size * growth) then BN-ReLU-Conv3x3 (growth channels),
/// applied to the concatenation of all earlier feature maps.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t num_input_features, int64_t growth_rate, int64_t bn_size,
                 double drop_rate);
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);
  /// Folds norm2 into conv1 (eval mode; see ClassifierImpl::fold_batchnorm).
  void fold_batchnorm();

 private:
  BatchNorm2d norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  double drop_rate_;
  bool folded_ = false;
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t num_input_features, int64_t bn_size,
                 int64_t growth_rate, double drop_rate);
  torch::Tensor forward(const torch::Tensor& x);
  void fold_batchnorm();

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

/// BN-ReLU-Conv1x1 halving the channels, then 2x2 average pooling (torchvision's
/// _Transition: `norm`, `relu`, `conv`, `pool`; only norm and conv hold weights).
class TransitionImpl : public torch::nn::Module {
 public:
  TransitionImpl(int64_t num_input_features, int64_t num_output_features);
  torch::Tensor forward(const torch::Tensor& x);
  /// Inference shortcut: pool before the 1x1 convolution (the same linear map, 4x fewer
  /// pixels to convolve).
  void pool_first() { pool_first_ = true; }

 private:
  BatchNorm2d norm_{nullptr};
  torch::nn::Conv2d conv_{nullptr};
  bool pool_first_ = false;
};
TORCH_MODULE(Transition);

class DenseNetImpl : public ClassifierImpl {
 public:
  DenseNetImpl(std::string arch, int64_t growth_rate, std::vector<int64_t> block_config,
               int64_t num_init_features, int64_t num_outputs, int64_t bn_size = 4,
               double drop_rate = 0.0);
  torch::Tensor forward_features(const torch::Tensor& x) override;
  /// conv0 (7x7 stride 2 pad 3) and pool0 (3x3 stride 2 pad 1) centre output j on input
  /// 4 j; each transition's 2x2 average pool centres j between its inputs 2 j and 2 j + 1,
  /// so a grid a j + b becomes 2 a j + a / 2 + b: 8 j + 2, 16 j + 6, 32 j + 14.
  FeatureGrid feature_grid() const override { return {32, 14}; }
  const char* head_name() const override { return "classifier"; }

 protected:
  void fold_batchnorm_impl() override;

 private:
  torch::nn::Sequential features_{nullptr};
};
TORCH_MODULE(DenseNet);

DenseNet densenet121(int64_t num_outputs = 1000);
DenseNet densenet161(int64_t num_outputs = 1000);
DenseNet densenet169(int64_t num_outputs = 1000);
DenseNet densenet201(int64_t num_outputs = 1000);

}  // namespace mura::models
