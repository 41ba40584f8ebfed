#include "mura/util/device.h"

#include <torch/cuda.h>

#include "mura/util/error.h"

namespace mura {

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available())
      throw Error("--device cuda: this LibTorch build has no CUDA or no GPU is visible");
    return torch::kCUDA;
  }
  throw Error("--device: expected auto, cpu or cuda, got '" + name + "'");
}

}  // namespace mura
