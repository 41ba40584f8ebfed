#pragma once
/// The compute device from a --device value.
#include <torch/types.h>

#include <string>

namespace mura {

/// "auto" (CUDA when this LibTorch has it and a GPU is visible, else CPU), "cpu", "cuda".
/// Throws mura::Error for another value, or for "cuda" without a usable GPU.
torch::Device resolve_device(const std::string& name);

}  // namespace mura
