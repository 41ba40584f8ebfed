#pragma once
/// The BatchNorm2d every mura model uses: torch::nn::BatchNorm2d's parameters, buffers,
/// names, defaults and forward (torch::batch_norm with the same arguments), plus
/// synchronised statistics. (It is its own module rather than a subclass of LibTorch's:
/// Debian's libtorch does not export BatchNormImplBase's out-of-line members, which a
/// subclass's vtable needs.)
///
/// With a process group of more than one set (set_group, as `--sync-bn` does) and the module
/// in training mode, the batch mean and variance are those of the global batch: per channel,
/// the sums over every rank's share are all-reduced (two passes: mean, then the centred sum
/// of squares, for fp32 accuracy), and the backward pass all-reduces the gradients of those
/// sums, so N processes compute what one process with the whole batch computes. PyTorch's
/// SyncBatchNorm is GPU-only and absent from the C++ API; this works on Gloo too. The
/// running statistics are updated as torch::nn::BatchNorm2d does (unbiased variance, the
/// module's momentum, or a cumulative average when it has none). In eval mode, or without a
/// group, forward is torch::nn::BatchNorm2d's.
#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>

#include <cstdint>
#include <memory>
#include <ostream>

#include "mura/util/collective.h"

namespace mura::models {

class BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(const torch::nn::BatchNormOptions& options_);
  BatchNorm2dImpl(std::int64_t num_features)  // NOLINT: like torch::nn::BatchNorm2d(64)
      : BatchNorm2dImpl(torch::nn::BatchNormOptions(num_features)) {}
  /// Registers weight, bias (affine) and running_mean, running_var, num_batches_tracked
  /// (tracking), in torch::nn::BatchNorm2d's order, and resets them (1, 0, 0, 1, 0).
  void reset() override;
  void reset_running_stats();
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);
  /// The group whose global batch the statistics cover (nullptr or a group of one: local).
  void set_group(std::shared_ptr<Collective> group) { group_ = std::move(group); }

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::shared_ptr<Collective> group_;
};
TORCH_MODULE(BatchNorm2d);

}  // namespace mura::models
