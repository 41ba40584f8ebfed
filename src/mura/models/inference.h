#pragma once
/// Running a model (or an ensemble) over a loader: probabilities of "abnormal" per sample.
#include <torch/types.h>

#include <memory>
#include <vector>

#include "mura/data/loader.h"
#include "mura/models/classifier.h"
#include "mura/util/precision.h"

namespace mura::models {

struct InferenceOptions {
  torch::Device device = torch::kCPU;
  bool tta_flip = false;  ///< also run the horizontally flipped batch; average probabilities
  Precision precision = Precision::FP32;  ///< bf16/fp16: the forward pass under autocast
};

/// Mean P(abnormal) over the models (and flips) for one normalised batch on the device:
/// [B] float64 on the CPU. Runs under InferenceMode; the models must be in eval mode.
torch::Tensor ensemble_probabilities(const std::vector<std::shared_ptr<ClassifierImpl>>& models,
                                     const torch::Tensor& images, const InferenceOptions& options);

/// P(abnormal) from a model's logits: sigmoid of 1 logit, softmax class 1 of 2.
torch::Tensor probabilities_from_logits(const torch::Tensor& logits);

/// Runs every model (eval mode, no grad) on every batch of `loader`'s epoch 0 and returns
/// the mean probability over models (and flips) for each sample, indexed like
/// loader.samples(). The models' train/eval mode is restored afterwards.
std::vector<double> predict_probabilities(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, data::Loader& loader,
    const InferenceOptions& options = {});

}  // namespace mura::models
