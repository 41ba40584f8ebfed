#pragma once
/// One runtime: where and how a composition computes, resolved by one function.
///
/// Every options struct that runs a model embeds a RuntimeOptions; resolve_runtime turns it
/// into the device, the precision (with the reason for the choice) and the thread plan, and
/// applies them (LibTorch's intra-op threads, cuDNN's autotuner), so train, evaluate,
/// predict, explain and the report do the same set-up the same way.
#include <c10/core/Device.h>

#include <memory>
#include <string>

#include "mura/util/collective.h"
#include "mura/util/names.h"
#include "mura/util/precision.h"
#include "mura/util/threads.h"

namespace mura {

struct RuntimeOptions {
  std::string device = "auto";     ///< auto (CUDA when present) | cpu | cuda
  std::string precision = "auto";  ///< auto | fp32 | bf16 | fp16 | amp (util/precision.h)
  bool channels_last = true;       ///< channels-last model and batches
  bool fold_batchnorm = true;      ///< inference: fold BatchNorm into the convolutions
  int threads = 0;                 ///< LibTorch intra-op threads; 0 = chosen (util/threads.h)
  int workers = -1;                ///< loader threads; < 0 = chosen, 0 = the calling thread
  bool deterministic = false;      ///< CUDA: deterministic algorithms, no cuDNN autotuner
  /// The processes this run shares its work with (dist/ joins it; not serialised); nullptr
  /// = a single process. The thread plan gives each process cores / its local size.
  std::shared_ptr<Collective> group;
};

struct Runtime {
  c10::Device device{c10::kCPU};
  PrecisionChoice precision;
  ThreadPlan threads;
  bool channels_last = true;
  bool fold_batchnorm = true;
  bool deterministic = false;
  std::shared_ptr<Collective> group;  ///< never null: single_process_group() by default
  /// "cpu, fp32 (auto: no native bf16), channels-last, 2 compute threads, 1 loader worker"
  std::string describe() const;
};

/// Resolves and applies the options. Throws mura::Error naming --device or --precision for
/// a value this machine cannot serve (cuda without a GPU, fp16 on a CPU, an unknown name).
Runtime resolve_runtime(const RuntimeOptions& options);

/// The names --device accepts.
const NameTable<std::string>& device_names();
/// The names --precision accepts.
const NameTable<std::string>& precision_request_names();

}  // namespace mura
