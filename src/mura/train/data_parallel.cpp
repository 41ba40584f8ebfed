#include "mura/train/data_parallel.h"

#include <torch/torch.h>

#include <chrono>

#include "mura/util/error.h"

namespace mura::train {

void broadcast_model(torch::nn::Module& model, Collective& group) {
  if (group.size() == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : model.parameters()) tensors.push_back(p);
  for (const auto& b : model.buffers()) tensors.push_back(b);
  // Broadcast contiguous copies (channels-last parameters are not contiguous), then copy back.
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.contiguous().clone());
  group.broadcast(flat, 0, "broadcasting the model from rank 0");
  for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].copy_(flat[i]);
}

GradientReducer::GradientReducer(torch::nn::Module& model, std::shared_ptr<Collective> group,
                                 std::int64_t bucket_bytes)
    : group_(std::move(group)) {
  for (const auto& p : model.parameters())
    if (p.requires_grad()) params_.push_back(p);
  bucket_of_.resize(params_.size());
  slot_of_.resize(params_.size());
  arrived_.assign(params_.size(), false);
  std::int64_t bytes = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const std::int64_t b =
        params_[k].numel() * static_cast<std::int64_t>(params_[k].element_size());
    if (buckets_.empty() || (bytes > 0 && bytes + b > bucket_bytes)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& bucket = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = bucket.params.size();
    bucket.offsets.push_back(
        bucket.params.empty() ? 0 : bucket.offsets.back() + params_[bucket.params.back()].numel());
    bucket.params.push_back(k);
    bytes += b;
  }
  for (Bucket& bucket : buckets_) {
    const auto& last = params_[bucket.params.back()];
    bucket.flat = torch::zeros({bucket.offsets.back() + last.numel()},
                               last.options().memory_format(torch::MemoryFormat::Contiguous));
  }
  for (std::size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(
        params_[k].register_hook([this, k](torch::Tensor grad) { on_gradient(k, grad); }));
}

GradientReducer::~GradientReducer() {
  for (std::size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

std::int64_t GradientReducer::bytes_per_step() const {
  std::int64_t n = 0;
  for (const Bucket& b : buckets_)
    n += b.flat.numel() * static_cast<std::int64_t>(b.flat.element_size());
  return n;
}

void GradientReducer::prepare(const std::string& what) {
  what_ = what;
  for (Bucket& b : buckets_) {
    b.pending = b.params.size();
    b.launched = false;
    b.wait = nullptr;
  }
  arrived_.assign(params_.size(), false);
}

void GradientReducer::on_gradient(std::size_t k, const torch::Tensor& grad) {
  Bucket& b = buckets_[bucket_of_[k]];
  MURA_ASSERT(!b.launched, "a gradient arrived after its bucket was reduced");
  const std::int64_t n = params_[k].numel();
  b.flat.narrow(0, b.offsets[slot_of_[k]], n).copy_(grad.detach().reshape({n}));
  // A parameter used twice in one graph gets two hook calls; its slot then holds the last.
  // mura's models use each parameter once, which the pending count relies on.
  if (!arrived_[k]) {
    arrived_[k] = true;
    if (--b.pending == 0) launch(b);
  }
}

void GradientReducer::launch(Bucket& b) {
  std::vector<torch::Tensor> t{b.flat};
  b.wait = group_->all_reduce_sum_async(t, what_);
  b.launched = true;
}

void GradientReducer::finish() {
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) {
    if (b.launched) continue;
    for (std::size_t j = 0; j < b.params.size(); ++j)
      if (!arrived_[b.params[j]])
        b.flat.narrow(0, b.offsets[j], params_[b.params[j]].numel()).zero_();
    launch(b);
  }
  for (Bucket& b : buckets_) b.wait();
  torch::NoGradGuard no_grad;
  for (Bucket& b : buckets_)
    for (std::size_t j = 0; j < b.params.size(); ++j) {
      auto& p = params_[b.params[j]];
      auto sum = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
      if (p.mutable_grad().defined())
        p.mutable_grad().copy_(sum);
      else
        p.mutable_grad() = torch::empty_like(p).copy_(sum);
    }
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace mura::train
