#pragma once
/// Dynamic loss scaling for fp16 training (LibTorch's C++ API has no GradScaler), with
/// torch.cuda.amp.GradScaler's semantics: the loss is multiplied by `scale` before
/// backward; before the optimizer step the gradients are divided by it and checked for
/// inf/NaN; a step with non-finite gradients is skipped and the scale multiplied by
/// `backoff_factor`; after `growth_interval` finite steps in a row it is multiplied by
/// `growth_factor`. Disabled, every call is a pass-through (bf16 and fp32 need no scaling).
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace torch::optim {
class Optimizer;
}

namespace mura::train {

struct GradScalerOptions {
  double init_scale = 65536.0;  ///< 2^16, as PyTorch
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;
  bool enabled = true;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});
  bool enabled() const { return options_.enabled; }
  double scale() const { return scale_; }

  /// loss * scale (the loss unchanged when disabled).
  torch::Tensor scale_loss(const torch::Tensor& loss) const;
  /// Divides every gradient of the optimizer's parameters by the scale, then steps the
  /// optimizer unless a gradient is inf/NaN, and updates the scale. Returns whether the
  /// optimizer stepped.
  bool step(torch::optim::Optimizer& optimizer);
  /// Steps skipped so far because of non-finite gradients.
  std::int64_t skipped_steps() const { return skipped_; }

  std::string state_json() const;
  /// Restores a state_json(); throws mura::Error when it does not parse.
  void load_state_json(const std::string& json);

 private:
  GradScalerOptions options_;
  double scale_;
  std::int64_t growth_tracker_ = 0;
  std::int64_t skipped_ = 0;
};

}  // namespace mura::train
