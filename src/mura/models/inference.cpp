#include "mura/models/inference.h"

#include <torch/torch.h>

#include "mura/util/error.h"
#include "mura/util/torch_compat.h"

namespace mura::models {

torch::Tensor probabilities_from_logits(const torch::Tensor& logits) {
  const auto x = logits.to(torch::kFloat32);
  if (x.size(1) == 2) return torch::softmax(x, 1).select(1, 1);
  if (x.size(1) == 1) return torch::sigmoid(x.select(1, 0));
  throw Error("expected a model with 1 or 2 outputs, got " + std::to_string(x.size(1)));
}

torch::Tensor ensemble_probabilities(const std::vector<std::shared_ptr<ClassifierImpl>>& models,
                                     const torch::Tensor& x, const InferenceOptions& options) {
  if (models.empty()) throw Error("no model to run");
  torch::InferenceMode guard;
  torch::Tensor sum;
  int n = 0;
  for (const auto& m : models) {
    for (int flip = 0; flip <= (options.tta_flip ? 1 : 0); ++flip) {
      torch::Tensor logits;
      {
        compat::AutocastGuard autocast(options.device, autocast_dtype(options.precision),
                                       uses_autocast(options.precision));
        logits = m->forward(flip ? x.flip({3}) : x);
      }
      const auto p = probabilities_from_logits(logits);  // fp32
      sum = sum.defined() ? sum + p : p;
      ++n;
    }
  }
  return (sum / n).to(torch::kCPU, torch::kFloat64).contiguous();
}

std::vector<double> predict_probabilities(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, data::Loader& loader,
    const InferenceOptions& options) {
  if (models.empty()) throw Error("no model to run");
  std::vector<bool> was_training;
  for (const auto& m : models) {
    was_training.push_back(m->is_training());
    m->eval();
  }
  std::vector<double> out(loader.size(), 0.0);
  {
    torch::InferenceMode guard;
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const auto x = batch->images.to(options.device, /*non_blocking=*/true);
      const auto mean = ensemble_probabilities(models, x, options);
      const double* p = mean.data_ptr<double>();
      for (std::size_t j = 0; j < batch->size(); ++j) out[batch->indices[j]] = p[j];
    }
  }
  for (std::size_t i = 0; i < models.size(); ++i) models[i]->train(was_training[i]);
  return out;
}

}  // namespace mura::models
