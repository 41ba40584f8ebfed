#include "mura/models/optimize.h"

#include <torch/torch.h>

#include "mura/models/classifier.h"
#include "mura/util/error.h"

namespace mura::models {
namespace nn = torch::nn;

nn::Conv2d fold_conv_batchnorm(const nn::Conv2dImpl& conv, const BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  const auto out_channels = conv.options.out_channels();
  if (bn.options.num_features() != out_channels)
    throw Error("cannot fold BatchNorm of " + std::to_string(bn.options.num_features()) +
                " features into a convolution with " + std::to_string(out_channels) + " outputs");
  if (!bn.options.track_running_stats() || !bn.running_mean.defined())
    throw Error("cannot fold a BatchNorm without running statistics");
  const auto w = conv.weight.to(torch::kFloat64);
  const auto mean = bn.running_mean.to(torch::kFloat64);
  const auto var = bn.running_var.to(torch::kFloat64);
  auto gamma = torch::ones({out_channels}, w.options());
  auto beta = torch::zeros({out_channels}, w.options());
  if (bn.options.affine()) {
    gamma = bn.weight.to(torch::kFloat64);
    beta = bn.bias.to(torch::kFloat64);
  }
  const auto s = gamma / torch::sqrt(var + bn.options.eps());
  const auto b0 = conv.options.bias() && conv.bias.defined()
                      ? conv.bias.to(torch::kFloat64)
                      : torch::zeros({out_channels}, w.options());
  const auto& c = conv.options;
  auto opts = nn::Conv2dOptions(c.in_channels(), out_channels, c.kernel_size())
                  .stride(c.stride())
                  .dilation(c.dilation())
                  .groups(c.groups())
                  .bias(true);
  opts.padding() = c.padding();
  opts.padding_mode() = c.padding_mode();
  nn::Conv2d folded(opts);
  folded->to(conv.weight.device(), conv.weight.scalar_type());
  folded->weight.copy_(w * s.view({-1, 1, 1, 1}));
  folded->bias.copy_(beta + (b0 - mean) * s);
  folded->weight.set_requires_grad(false);
  folded->bias.set_requires_grad(false);
  return folded;
}

void to_channels_last(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() != 4) continue;
    p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
    if (p.grad().defined())
      p.mutable_grad() = p.grad().contiguous(torch::MemoryFormat::ChannelsLast);
  }
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.data().contiguous(torch::MemoryFormat::ChannelsLast));
}

void prepare_for_inference(ClassifierImpl& model, const InferencePrep& prep) {
  model.eval();
  if (prep.fold_batchnorm) model.fold_batchnorm();
  if (prep.channels_last) to_channels_last(model);
}

}  // namespace mura::models
