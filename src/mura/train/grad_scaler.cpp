#include "mura/train/grad_scaler.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "mura/util/error.h"

namespace mura::train {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  if (!(options_.init_scale > 0) || !(options_.growth_factor > 1) ||
      !(options_.backoff_factor > 0) || !(options_.backoff_factor < 1) ||
      options_.growth_interval < 1)
    throw Error(
        "loss scaler: expected init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, "
        "growth_interval >= 1");
}

torch::Tensor GradScaler::scale_loss(const torch::Tensor& loss) const {
  return options_.enabled ? loss * scale_ : loss;
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  bool finite = true;
  {
    torch::NoGradGuard no_grad;
    const double inv = 1.0 / scale_;
    // One flag per gradient, read back once: on CUDA each item() is a device sync.
    std::vector<torch::Tensor> flags;
    for (const auto& group : optimizer.param_groups())
      for (const auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        auto g = p.grad();
        g.mul_(inv);
        flags.push_back(torch::isfinite(g).all());
      }
    if (!flags.empty()) finite = torch::stack(flags).all().item<bool>();
  }
  if (finite) {
    optimizer.step();
    if (++growth_tracker_ >= options_.growth_interval) {
      scale_ *= options_.growth_factor;
      growth_tracker_ = 0;
    }
  } else {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    ++skipped_;
  }
  return finite;
}

std::string GradScaler::state_json() const {
  nlohmann::json j;
  j["scale"] = scale_;
  j["growth_tracker"] = growth_tracker_;
  j["skipped"] = skipped_;
  return j.dump();
}

void GradScaler::load_state_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    const double s = j.at("scale").get<double>();
    if (!(s > 0)) throw Error("loss scaler state: scale must be positive");
    scale_ = s;
    growth_tracker_ = j.at("growth_tracker").get<std::int64_t>();
    skipped_ = j.value("skipped", std::int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("loss scaler state does not parse: ") + e.what());
  }
}

}  // namespace mura::train
