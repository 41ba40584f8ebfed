#include "mura/util/precision.h"

#include <algorithm>
#include <cctype>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "mura/util/error.h"
#include "mura/util/torch_compat.h"

namespace mura {

bool cpu_has_native_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_bf16 = (d >> 22) & 1u;  // CPUID.(7,0):EDX[22]
  const unsigned max_sub = a;
  bool avx512_bf16 = false;
  if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
    avx512_bf16 = (a >> 5) & 1u;  // CPUID.(7,1):EAX[5]
  return amx_bf16 || avx512_bf16;
#else
  return false;
#endif
}

PrecisionCapabilities detect_capabilities(torch::Device device) {
  PrecisionCapabilities caps;
  caps.cpu_bf16 = cpu_has_native_bf16();
  if (device.is_cuda()) caps.cuda_bf16 = compat::cuda_supports_bf16();
  return caps;
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::BF16:
      return "bf16";
    case Precision::FP16:
      return "fp16";
    case Precision::FP32:
      break;
  }
  return "fp32";
}

Precision parse_precision(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (s == "fp32" || s == "float32" || s == "float") return Precision::FP32;
  if (s == "bf16" || s == "bfloat16") return Precision::BF16;
  if (s == "fp16" || s == "float16" || s == "half") return Precision::FP16;
  throw Error("--precision: expected auto, fp32, bf16 or fp16, got '" + name + "'");
}

PrecisionChoice resolve_precision(const std::string& requested, torch::Device device,
                                  const PrecisionCapabilities& caps) {
  std::string s = requested;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  PrecisionChoice out;
  if (s == "auto") {
    if (device.is_cuda()) {
      out.precision = caps.cuda_bf16 ? Precision::BF16 : Precision::FP32;
      out.reason = caps.cuda_bf16 ? "auto: the GPU computes bf16" : "auto: the GPU has no bf16";
    } else {
      out.precision = caps.cpu_bf16 ? Precision::BF16 : Precision::FP32;
      out.reason = caps.cpu_bf16 ? "auto: the CPU has AVX512-BF16/AMX-BF16"
                                 : "auto: the CPU has no native bf16";
    }
    return out;
  }
  if (s == "amp") {  // low precision whatever auto would say
    out.precision = device.is_cuda() && !caps.cuda_bf16 ? Precision::FP16 : Precision::BF16;
    out.reason = "--amp";
    if (out.precision == Precision::BF16 && !device.is_cuda() && !caps.cpu_bf16)
      out.reason = "--amp; this CPU has no native bf16, so it is emulated and slow";
    return out;
  }
  out.precision = parse_precision(s);
  out.reason = "requested";
  if (out.precision == Precision::FP16 && !device.is_cuda())
    throw Error(
        "--precision fp16 needs a CUDA device (LibTorch's CPU autocast has bf16 only); "
        "use --precision bf16 or fp32 on a CPU");
  if (out.precision == Precision::BF16 && device.is_cuda() && !caps.cuda_bf16)
    throw Error("--precision bf16: this GPU has no native bf16; use --precision fp16 or fp32");
  if (out.precision == Precision::BF16 && !device.is_cuda() && !caps.cpu_bf16)
    out.reason = "requested; this CPU has no native bf16, so it is emulated and slow";
  return out;
}

PrecisionChoice resolve_precision(const std::string& requested, torch::Device device) {
  return resolve_precision(requested, device, detect_capabilities(device));
}

torch::ScalarType autocast_dtype(Precision p) {
  switch (p) {
    case Precision::BF16:
      return torch::kBFloat16;
    case Precision::FP16:
      return torch::kHalf;
    case Precision::FP32:
      break;
  }
  return torch::kFloat32;
}

}  // namespace mura
