#pragma once
/// Data-parallel gradients, as PyTorch's DDP computes them, on any Collective.
///
/// Every rank trains on its share of the same global batch (data::LoaderOptions::shard_*)
/// with its loss scaled by share / global batch size; the gradients are then SUM-all-reduced,
/// so every rank holds exactly the gradient of the global batch's mean loss, also when the
/// batch does not divide by the number of ranks (Gloo has no AVG; dividing by the world
/// size would weight a share of 5 like a share of 6).
///
/// The parameters that train are packed, in reverse registration order (the order backward
/// produces their gradients in), into flat buckets of about `bucket_bytes`; a hook on each
/// parameter copies its gradient into its bucket as autograd produces it, and a full bucket
/// is all-reduced asynchronously while the backward pass goes on. finish() reduces what is
/// left (a parameter that got no gradient counts as zeros, on every rank alike), waits for
/// every bucket and writes the sums back as the parameters' gradients: call it after
/// backward() and before the optimizer step.
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mura/util/collective.h"

namespace mura::train {

/// Broadcasts every parameter and buffer of `model` from rank 0 (the same start everywhere).
void broadcast_model(torch::nn::Module& model, Collective& group);

class GradientReducer {
 public:
  static constexpr std::int64_t kDefaultBucketBytes = 25LL << 20;  ///< DDP's 25 MiB
  GradientReducer(torch::nn::Module& model, std::shared_ptr<Collective> group,
                  std::int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Call before backward(): clears the buckets for a new step; `what` names it in errors.
  void prepare(const std::string& what);
  /// Call after backward(): reduces, waits, and sets every parameter's gradient to the sum.
  void finish();

  std::size_t num_buckets() const { return buckets_.size(); }
  /// Bytes of gradients one step all-reduces (every bucket once).
  std::int64_t bytes_per_step() const;
  /// Seconds spent in finish() waiting for the all-reduces (a measure of what did not overlap).
  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Bucket {
    std::vector<std::size_t> params;  ///< indices into params_
    std::vector<std::int64_t> offsets;
    torch::Tensor flat;
    std::size_t pending = 0;  ///< gradients still to arrive this step
    std::function<void()> wait;
    bool launched = false;
  };
  void on_gradient(std::size_t param, const torch::Tensor& grad);
  void launch(Bucket& b);

  std::shared_ptr<Collective> group_;
  std::vector<torch::Tensor> params_;
  std::vector<std::size_t> bucket_of_, slot_of_;
  std::vector<bool> arrived_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::string what_;
  double wait_seconds_ = 0;
};

}  // namespace mura::train
