#include "mura/models/inference.h"

#include <torch/torch.h>

#include "mura/util/error.h"
#include "mura/util/torch_compat.h"

namespace mura::models {

torch::Tensor abnormal_logits(const torch::Tensor& logits) {
  const auto x = logits.to(torch::kFloat32);
  if (x.size(1) == 2) return x.select(1, 1) - x.select(1, 0);
  if (x.size(1) == 1) return x.select(1, 0);
  throw Error("expected a model with 1 or 2 outputs, got " + std::to_string(x.size(1)));
}

torch::Tensor probabilities_from_logits(const torch::Tensor& logits, double temperature) {
  const auto x = logits.to(torch::kFloat32);
  if (x.size(1) != 1 && x.size(1) != 2)
    throw Error("expected a model with 1 or 2 outputs, got " + std::to_string(x.size(1)));
  const auto scaled = temperature == 1.0 ? x : x / temperature;
  return x.size(1) == 2 ? torch::softmax(scaled, 1).select(1, 1)
                        : torch::sigmoid(scaled.select(1, 0));
}

BatchProbabilities ensemble_probabilities_both(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, const torch::Tensor& x,
    const InferenceOptions& options) {
  if (models.empty()) throw Error("no model to run");
  torch::InferenceMode guard;
  torch::Tensor sum, sum1;
  int n = 0;
  for (const auto& m : models) {
    for (int flip = 0; flip <= (options.tta_flip ? 1 : 0); ++flip) {
      torch::Tensor logits;
      {
        compat::AutocastGuard autocast(options.device, autocast_dtype(options.precision),
                                       uses_autocast(options.precision));
        logits = m->forward(flip ? x.flip({3}) : x);
      }
      const auto p = probabilities_from_logits(logits, m->temperature());  // fp32
      sum = sum.defined() ? sum + p : p;
      if (options.uncalibrated_too) {
        const auto p1 = m->temperature() == 1.0 ? p : probabilities_from_logits(logits);
        sum1 = sum1.defined() ? sum1 + p1 : p1;
      }
      ++n;
    }
  }
  BatchProbabilities r;
  r.calibrated = (sum / n).to(torch::kCPU, torch::kFloat64).contiguous();
  if (options.uncalibrated_too)
    r.uncalibrated = (sum1 / n).to(torch::kCPU, torch::kFloat64).contiguous();
  return r;
}

torch::Tensor ensemble_probabilities(const std::vector<std::shared_ptr<ClassifierImpl>>& models,
                                     const torch::Tensor& x, const InferenceOptions& options) {
  InferenceOptions o = options;
  o.uncalibrated_too = false;
  return ensemble_probabilities_both(models, x, o).calibrated;
}

namespace {
/// Runs `body(batch)` over `loader`'s epoch 0 with the models in eval mode, restoring their
/// modes afterwards.
template <class Body>
void over_loader(const std::vector<ClassifierImpl*>& models, data::Loader& loader,
                 const InferenceOptions& options, Body&& body) {
  std::vector<bool> was_training;
  for (auto* m : models) {
    was_training.push_back(m->is_training());
    m->eval();
  }
  {
    torch::InferenceMode guard;
    loader.start_epoch(0);
    while (auto batch = loader.next()) body(*batch, batch->images.to(options.device, true));
  }
  for (std::size_t i = 0; i < models.size(); ++i) models[i]->train(was_training[i]);
}
}  // namespace

std::vector<double> predict_probabilities(
    const std::vector<std::shared_ptr<ClassifierImpl>>& models, data::Loader& loader,
    const InferenceOptions& options, std::vector<double>* uncalibrated) {
  if (models.empty()) throw Error("no model to run");
  std::vector<ClassifierImpl*> raw;
  for (const auto& m : models) raw.push_back(m.get());
  InferenceOptions o = options;
  o.uncalibrated_too = uncalibrated != nullptr;
  std::vector<double> out(loader.size(), 0.0);
  if (uncalibrated) uncalibrated->assign(loader.size(), 0.0);
  over_loader(raw, loader, o, [&](const data::Batch& batch, const torch::Tensor& x) {
    const auto both = ensemble_probabilities_both(models, x, o);
    const double* p = both.calibrated.data_ptr<double>();
    for (std::size_t j = 0; j < batch.size(); ++j) out[batch.indices[j]] = p[j];
    if (uncalibrated) {
      const double* p1 = both.uncalibrated.data_ptr<double>();
      for (std::size_t j = 0; j < batch.size(); ++j) (*uncalibrated)[batch.indices[j]] = p1[j];
    }
  });
  return out;
}

std::vector<double> predict_abnormal_logits(ClassifierImpl& model, data::Loader& loader,
                                            const InferenceOptions& options) {
  std::vector<double> out(loader.size(), 0.0);
  over_loader({&model}, loader, options, [&](const data::Batch& batch, const torch::Tensor& x) {
    torch::Tensor logits;
    {
      compat::AutocastGuard autocast(options.device, autocast_dtype(options.precision),
                                     uses_autocast(options.precision));
      logits = model.forward(x);
    }
    const auto d = abnormal_logits(logits).to(torch::kCPU, torch::kFloat64).contiguous();
    const double* p = d.data_ptr<double>();
    for (std::size_t j = 0; j < batch.size(); ++j) out[batch.indices[j]] = p[j];
  });
  return out;
}

}  // namespace mura::models
