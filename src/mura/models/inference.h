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
  /// Also compute the probabilities at temperature 1 (ignoring the models' temperatures):
  /// what the model said before temperature scaling, for evaluate's before/after calibration.
  bool uncalibrated_too = false;
};

/// P(abnormal) of one batch, and (when InferenceOptions::uncalibrated_too) the same at
/// temperature 1; both [B] float64 on the CPU.
struct BatchProbabilities {
  torch::Tensor calibrated, uncalibrated;
};

/// Mean P(abnormal) over the models (and flips) for one normalised batch on the device, each
/// model at its temperature: [B] float64 on the CPU. Runs under InferenceMode; the models
/// must be in eval mode.
torch::Tensor ensemble_probabilities(const std::vector<std::shared_ptr<ClassifierImpl>>& models,
                                     const torch::Tensor& images, const InferenceOptions& options);
/// The same, with the probabilities at temperature 1 too when options.uncalibrated_too.
BatchProbabilities ensemble_probabilities_both(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, const torch::Tensor& images,
    const InferenceOptions& options);

/// P(abnormal) from a model's logits divided by `temperature`: sigmoid of 1 logit, softmax
/// class 1 of 2 (= sigmoid of (l1 - l0) / temperature).
torch::Tensor probabilities_from_logits(const torch::Tensor& logits, double temperature = 1.0);
/// The abnormal logit d with P(abnormal) = sigmoid(d / temperature): the logit of a 1-output
/// model, l1 - l0 of a 2-output one. [B] float32.
torch::Tensor abnormal_logits(const torch::Tensor& logits);

/// Runs every model (eval mode, no grad) on every batch of `loader`'s epoch 0 and returns
/// the mean probability over models (and flips) for each sample, indexed like
/// loader.samples(). The models' train/eval mode is restored afterwards. `uncalibrated`, when
/// given, receives the same at temperature 1 (options.uncalibrated_too is implied).
std::vector<double> predict_probabilities(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, data::Loader& loader,
    const InferenceOptions& options = {}, std::vector<double>* uncalibrated = nullptr);

/// One model's abnormal logits (abnormal_logits) for each sample of `loader`'s epoch 0,
/// indexed like loader.samples(), without test-time augmentation: what temperature scaling
/// is fitted on. The model's train/eval mode is restored afterwards.
std::vector<double> predict_abnormal_logits(ClassifierImpl& model, data::Loader& loader,
                                            const InferenceOptions& options = {});

}  // namespace mura::models
