#pragma once
/// Small pieces the EfficientNet and ConvNeXt ports share.
#include <ATen/ATen.h>
#include <torch/nn/modules/container/sequential.h>

#include <utility>
#include <vector>

namespace mura::models {

/// An nn::Sequential of Tensor -> Tensor modules that can itself sit in an nn::Sequential
/// (whose templated forward AnyModule cannot hold): torchvision's nested
/// `nn.Sequential`s, with their `0`, `1`, ... names.
class SequenceImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(Sequence);

/// Stochastic depth ("row" mode), torchvision.ops.stochastic_depth: in training, each sample's
/// residual branch is kept with probability 1 - p and scaled by 1 / (1 - p); in eval mode, or
/// with p = 0, the branch passes unchanged. The noise is drawn as torchvision draws it
/// (torch.empty([N, 1, 1, 1]).bernoulli_(1 - p)), so the same seed drops the same samples.
inline at::Tensor stochastic_depth(const at::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  const double survival = 1.0 - p;
  std::vector<int64_t> size(static_cast<std::size_t>(x.dim()), 1);
  size[0] = x.size(0);
  auto noise = at::empty(size, x.options()).bernoulli_(survival);
  if (survival > 0.0) noise.div_(survival);
  return x * noise;
}

}  // namespace mura::models
