#pragma once
/// Every LibTorch-version-specific call lives here (LibTorch 1.13 from Debian, and 2.x with
/// CUDA, which GPU users install). Nothing else in mura checks TORCH_VERSION_*.
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/types.h>
#include <torch/version.h>

/// LibTorch 2.4 made the autocast state per device type (set_autocast_enabled(type, on),
/// set_autocast_dtype(type, dtype)); 1.13 to 2.3 have the per-device functions
/// (set_enabled / set_cpu_enabled, set_autocast_gpu_dtype / set_autocast_cpu_dtype), which
/// 2.4 deprecates.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MURA_TORCH_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define MURA_TORCH_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace mura::compat {

/// Enables autocast to `dtype` on `device` for the guard's lifetime (no-op when disabled).
class AutocastGuard {
 public:
  AutocastGuard(torch::Device device, torch::ScalarType dtype, bool enabled)
      : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
#if MURA_TORCH_AUTOCAST_BY_DEVICE_TYPE
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    prev_enabled_ = at::autocast::is_autocast_enabled(type);
    prev_dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, dtype);
#else
    if (cuda_) {
      prev_enabled_ = at::autocast::is_enabled();
      prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      prev_enabled_ = at::autocast::is_cpu_enabled();
      prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if MURA_TORCH_AUTOCAST_BY_DEVICE_TYPE
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(type, prev_enabled_);
    at::autocast::set_autocast_dtype(type, prev_dtype_);
#else
    if (cuda_) {
      at::autocast::set_enabled(prev_enabled_);
      at::autocast::set_autocast_gpu_dtype(prev_dtype_);
    } else {
      at::autocast::set_cpu_enabled(prev_enabled_);
      at::autocast::set_autocast_cpu_dtype(prev_dtype_);
    }
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool cuda_;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kFloat32;
};

/// cudnn's autotuner on (fastest convolution per shape) unless `deterministic`, which asks
/// for deterministic algorithms instead. No-op on a CPU device.
inline void configure_cuda(torch::Device device, bool deterministic) {
  if (!device.is_cuda()) return;
  at::globalContext().setBenchmarkCuDNN(!deterministic);
  at::globalContext().setDeterministicCuDNN(deterministic);
}

/// True when the CUDA device computes bf16 natively (compute capability 8.0 or newer, the
/// test torch.cuda.is_bf16_supported() makes); false without CUDA.
inline bool cuda_supports_bf16() {
  const auto& hooks = at::detail::getCUDAHooks();
  return hooks.hasCUDA() && hooks.supportsBFloat16ConvolutionWithCuDNNv8();
}

}  // namespace mura::compat

/// c10d, for the one file that talks to it (dist/process_group.cpp defines MURA_COMPAT_C10D
/// before including this header, so no other file pays for these headers).
/// LibTorch 1.13: ProcessGroupGloo is a c10d::ProcessGroup, its default timeout
/// kProcessGroupDefaultTimeout; 2.x: it is a c10d::Backend (a ProcessGroup wraps backends),
/// the default kBackendDefaultTimeout, and NCCL's options class moved with it. mura holds
/// the Gloo/NCCL object itself, whose collective calls are the same in both.
#ifdef MURA_COMPAT_C10D
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef MURA_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace mura::compat {
using GlooGroup = c10d::ProcessGroupGloo;
#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = c10d::Backend;                              ///< what Gloo and NCCL groups are
constexpr auto kC10dDefaultTimeout = ::kBackendDefaultTimeout;  // global in 2.x
#else
using C10dBackend = c10d::ProcessGroup;
constexpr auto kC10dDefaultTimeout = ::kProcessGroupDefaultTimeout;  // global in 1.13
#endif
#ifdef MURA_WITH_NCCL
using NcclGroup = c10d::ProcessGroupNCCL;
#endif
}  // namespace mura::compat
#endif  // MURA_COMPAT_C10D
