#pragma once
/// The interface every architecture implements: torchvision's network with a replaceable
/// classification head, split into a feature extractor (the last convolutional stage, the
/// Grad-CAM target) and a head (global average pool + linear layer).
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <string>

#include "mura/util/collective.h"

namespace mura::models {

/// Where the cells of forward_features' map look in the input: cell (i, j) is centred on
/// input pixel (offset + stride * j, offset + stride * i), pixel centres at integer
/// coordinates. This is what the padding of the strided layers makes it, not the
/// "cell j covers [stride j, stride (j + 1))" that a plain resize of the map assumes
/// (tests/models/model_test.cpp measures it from input gradients).
struct FeatureGrid {
  double stride = 32;
  double offset = 0;
};

class ClassifierImpl : public torch::nn::Module {
 public:
  /// Logits [B, num_outputs] for normalised images [B, 3, H, W] (any H, W >= 32).
  torch::Tensor forward(const torch::Tensor& x) { return forward_head(forward_features(x)); }
  /// Activations of the last convolutional stage, [B, C, H/32, W/32]: ResNet's layer4 output;
  /// DenseNet's features (ending with norm5) followed by its ReLU.
  virtual torch::Tensor forward_features(const torch::Tensor& x) = 0;
  /// The geometry of forward_features' map on the input (for mapping a CAM back to it).
  virtual FeatureGrid feature_grid() const = 0;
  /// Global average pool + the head: [B, C, h, w] -> [B, num_outputs]. The head is the
  /// Linear layer, after EfficientNet's dropout or ConvNeXt's LayerNorm where they have one.
  virtual torch::Tensor forward_head(const torch::Tensor& features);

  /// The architecture's registry name ("resnet50", "densenet169").
  const std::string& arch() const { return arch_; }
  /// Name of the head module in the state dict: "fc" (ResNet) or "classifier" (DenseNet,
  /// EfficientNet, ConvNeXt; the last two keep their Linear inside it, as `classifier.1` and
  /// `classifier.2`). Freezing trains what is under it.
  virtual const char* head_name() const = 0;
  torch::nn::Linear& head() { return head_; }
  int64_t num_features() const { return head_->options.in_features(); }
  int64_t num_outputs() const { return head_->options.out_features(); }

  /// Replaces the head with a freshly initialised Linear(num_features, n) (torchvision's
  /// nn.Linear default init, drawn from torch's global generator).
  void reset_head(int64_t num_outputs);

  /// Freezing trains only the head: every backbone parameter gets requires_grad = false,
  /// and the backbone's BatchNorm layers stay in eval mode even when the model is put in
  /// train mode, so their running statistics do not change either. (PyTorch's usual
  /// `requires_grad = False` alone would still update the statistics in train mode and so
  /// silently change the "frozen" features.) Unfreezing restores both.
  void set_frozen(bool frozen);
  bool frozen() const { return frozen_; }
  /// Synchronised BatchNorm (models/batchnorm.h): in training mode every BatchNorm's
  /// statistics cover the global batch of `group` (nullptr: each process its own share).
  void set_batchnorm_group(const std::shared_ptr<Collective>& group);
  /// Throws mura::Error for train(true) on an inference-only (folded) model.
  void train(bool on = true) override;

  /// Inference graph preparation: puts the model in eval mode, folds every BatchNorm that
  /// follows a convolution into that convolution (ResNet: all of them; DenseNet: conv0/norm0
  /// and each dense layer's conv1/norm2, the others precede their convolution) and takes
  /// eval-only shortcuts (a DenseNet transition pools before its 1x1 convolution, which is the
  /// same linear map on 4x fewer pixels). Eval outputs equal the unfolded model's within float
  /// rounding (tests/models/optimize_test.cpp). The model is inference-only afterwards
  /// (train(true) throws; its convolutions have new weights and biases, and the folded
  /// BatchNorms, where they stay registered, are no longer used: it is never saved as a
  /// checkpoint). Idempotent.
  void fold_batchnorm();
  bool inference_only() const { return inference_only_; }

  /// Temperature scaling (eval/temperature.h): inference divides the logits by it before the
  /// sigmoid/softmax (models/inference.h). Not a parameter or buffer (the state dict stays
  /// torchvision's): the checkpoint's spec carries it. 1 = the probabilities as trained.
  /// Throws mura::Error unless t is a finite number > 0.
  void set_temperature(double t);
  double temperature() const { return temperature_; }

 protected:
  ClassifierImpl(std::string arch) : arch_(std::move(arch)) {}
  /// Registers the head's Linear (place_head); called by the subclasses' constructors.
  void register_head(int64_t in_features, int64_t num_outputs);
  /// Registers `linear` where the architecture keeps its head's Linear (`replace`: instead
  /// of the one there) and returns it. The default: the module head_name() itself.
  virtual torch::nn::Linear place_head(torch::nn::Linear linear, bool replace);
  /// The architecture's folding (see fold_batchnorm); called once, in eval mode.
  virtual void fold_batchnorm_impl() = 0;

 private:
  std::string arch_;
  torch::nn::Linear head_{nullptr};
  bool frozen_ = false;
  bool inference_only_ = false;
  double temperature_ = 1.0;
};

}  // namespace mura::models
