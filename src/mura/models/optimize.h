#pragma once
/// Model-level speed tools shared by the architectures and the commands: BatchNorm folding
/// of one convolution, channels-last memory format, and the inference preparation
/// `mura evaluate`/`predict` apply.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>

#include "mura/models/batchnorm.h"

namespace mura::models {

class ClassifierImpl;

/// A new convolution (with bias, same options, device and dtype) computing
/// bn(conv(x)) for `bn` in eval mode: W' = W * s, b' = beta + (b - mean) * s with
/// s = gamma / sqrt(running_var + eps), computed in double.
torch::nn::Conv2d fold_conv_batchnorm(const torch::nn::Conv2dImpl& conv, const BatchNorm2dImpl& bn);

/// Converts every 4-D parameter (and its gradient) and buffer of `module` to the
/// channels-last memory format in place; values are unchanged. The optimizer state created
/// later (Adam's moments are zeros_like the parameters) follows.
void to_channels_last(torch::nn::Module& module);

struct InferencePrep {
  bool fold_batchnorm = true;
  bool channels_last = true;
};

/// Eval mode, BatchNorm folded (ClassifierImpl::fold_batchnorm), channels-last weights, as
/// asked. Run after moving the model to its device.
void prepare_for_inference(ClassifierImpl& model, const InferencePrep& prep);

}  // namespace mura::models
