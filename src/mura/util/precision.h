#pragma once
/// The precision policy: which arithmetic a model runs in, for train, evaluate, predict and
/// explain (`--precision auto|fp32|bf16|fp16`).
///
/// bf16 and fp16 mean autocast: convolutions and matrix products run in the low precision,
/// while the loss, the metrics, BatchNorm's running statistics, the weights and the
/// optimizer state stay fp32. `auto` picks bf16 where the hardware computes it natively (a
/// CPU with AVX512-BF16 or AMX-BF16; a CUDA GPU with bf16 support, compute capability 8+),
/// fp32 elsewhere. fp16 is CUDA only and, when training, goes with loss scaling
/// (train/grad_scaler.h).
#include <torch/types.h>

#include <string>

namespace mura {

enum class Precision { FP32, BF16, FP16 };

/// What the machine offers; detect_capabilities() fills it, tests set it by hand.
struct PrecisionCapabilities {
  bool cpu_bf16 = false;   ///< AVX512-BF16 or AMX-BF16
  bool cuda_bf16 = false;  ///< the CUDA device computes bf16 natively
};
PrecisionCapabilities detect_capabilities(torch::Device device);

/// True when this CPU has AVX512-BF16 or AMX-BF16 instructions (cpuid; false off x86).
bool cpu_has_native_bf16();

struct PrecisionChoice {
  Precision precision = Precision::FP32;
  std::string reason;  ///< one line for the log: "bf16 (auto: CPU has AVX512-BF16)"
};

/// Resolves `requested` ("auto", "fp32", "bf16", "fp16", or "amp": bf16, fp16 on a GPU
/// without bf16; case-insensitive) for `device`.
/// Throws mura::Error naming --precision for an unknown value, fp16 on a CPU, or bf16 on a
/// CUDA device without bf16.
PrecisionChoice resolve_precision(const std::string& requested, torch::Device device,
                                  const PrecisionCapabilities& caps);
/// The same with detect_capabilities(device).
PrecisionChoice resolve_precision(const std::string& requested, torch::Device device);

const char* precision_name(Precision p);  ///< "fp32" | "bf16" | "fp16"
/// Parses a name written by precision_name (checkpoints); throws mura::Error otherwise.
Precision parse_precision(const std::string& name);
/// The autocast dtype (kBFloat16 / kHalf); kFloat32 for FP32 (autocast off).
torch::ScalarType autocast_dtype(Precision p);
inline bool uses_autocast(Precision p) {
  return p != Precision::FP32;
}

}  // namespace mura
