#include "mura/models/batchnorm.h"

#include <ATen/Context.h>
#include <torch/autograd.h>
#include <torch/torch.h>

namespace mura::models {

namespace {

/// y = the element-wise sum of x over the ranks; the gradient of x is the sum over the ranks
/// of the gradients of y (every rank's loss depends on every rank's x through y).
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               Collective* group) {
    ctx->saved_data["group"] = reinterpret_cast<std::int64_t>(group);
    std::vector<torch::Tensor> t{x.clone()};
    group->all_reduce_sum(t, "synchronising BatchNorm statistics");
    return t[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group = reinterpret_cast<Collective*>(ctx->saved_data["group"].toInt());
    std::vector<torch::Tensor> t{grads[0].contiguous().clone()};
    group->all_reduce_sum(t, "synchronising BatchNorm gradients");
    return {t[0], torch::Tensor()};
  }
};

}  // namespace

BatchNorm2dImpl::BatchNorm2dImpl(const torch::nn::BatchNormOptions& options_) : options(options_) {
  reset();
}

void BatchNorm2dImpl::reset() {
  const std::int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", torch::empty({c}));
    bias = register_parameter("bias", torch::empty({c}));
  } else {
    weight = register_parameter("weight", torch::Tensor(), /*requires_grad=*/false);
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({c}));
    running_var = register_buffer("running_var", torch::ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::tensor(0, torch::kLong));
  } else {
    running_mean = register_buffer("running_mean", torch::Tensor());
    running_var = register_buffer("running_var", torch::Tensor());
    num_batches_tracked = register_buffer("num_batches_tracked", torch::Tensor());
  }
  reset_parameters();
}

void BatchNorm2dImpl::reset_running_stats() {
  if (!options.track_running_stats()) return;
  torch::NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNorm2dImpl::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  torch::NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "mura::models::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ", momentum=";
  if (options.momentum())
    stream << *options.momentum();
  else
    stream << "None";
  stream << ", affine=" << options.affine()
         << ", track_running_stats=" << options.track_running_stats() << ")";
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 4, "BatchNorm2d: expected a 4-D input, got ", input.dim(), "-D");
  if (!is_training() || !group_ || group_->size() == 1) {
    // torch::nn::BatchNorm2d's forward
    double factor = 0.0;
    if (is_training() && options.track_running_stats()) {
      num_batches_tracked += 1;
      factor = options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
    }
    return torch::batch_norm(input, weight, bias, running_mean, running_var,
                             is_training() || !options.track_running_stats(), factor, options.eps(),
                             at::globalContext().userEnabledCuDNN());
  }
  const auto x = input.to(torch::kFloat32);
  const std::vector<std::int64_t> dims{0, 2, 3};
  const double local = static_cast<double>(x.numel() / std::max<std::int64_t>(1, x.size(1)));
  // pass 1: the global mean (the element count rides along with the sums)
  auto count = torch::full({1}, local, x.options());
  auto s1 = AllReduceSum::apply(torch::cat({x.sum(dims), count}), group_.get());
  const auto total = s1.narrow(0, x.size(1), 1);
  const auto mean = s1.narrow(0, 0, x.size(1)) / total;
  // pass 2: the global (biased) variance from centred squares
  const auto centred = x - mean.view({1, -1, 1, 1});
  const auto var = AllReduceSum::apply(centred.pow(2).sum(dims), group_.get()) / total;
  const double eps = options.eps();
  auto y = centred * torch::rsqrt(var + eps).view({1, -1, 1, 1});
  if (options.affine()) y = y * weight.view({1, -1, 1, 1}) + bias.view({1, -1, 1, 1});
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked += 1;
    const double n = total.item<double>();
    const double momentum =
        options.momentum() ? *options.momentum()
                           : 1.0 / static_cast<double>(num_batches_tracked.item<std::int64_t>());
    running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.dtype()), momentum);
    running_var.mul_(1 - momentum)
        .add_((var.detach() * (n / std::max(1.0, n - 1))).to(running_var.dtype()), momentum);
  }
  return y.to(input.scalar_type());
}

}  // namespace mura::models
