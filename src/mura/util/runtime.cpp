#include "mura/util/runtime.h"

#include <torch/cuda.h>

#include <algorithm>
#include <thread>

#include "mura/util/device.h"
#include "mura/util/torch_compat.h"

namespace mura {

std::string Runtime::describe() const {
  return device.str() + ", " + precision_name(precision.precision) + " (" + precision.reason +
         "), " + (channels_last ? "channels-last" : "contiguous") + ", " + threads.describe() +
         (group && group->size() > 1 ? ", " + group->describe() : "");
}

Runtime resolve_runtime(const RuntimeOptions& o) {
  Runtime r;
  r.device = resolve_device(device_names().canonical(o.device));
  r.precision = resolve_precision(o.precision, r.device);
  r.group = o.group ? o.group : single_process_group();
  // Several processes on a machine with GPUs: one GPU each, by local rank (as torchrun users
  // write torch.cuda.set_device(LOCAL_RANK)).
  if (r.device.is_cuda() && r.group->size() > 1 && torch::cuda::device_count() > 0)
    r.device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(r.group->local_rank() %
                                                                     torch::cuda::device_count()));
  // Processes on one machine share its cores.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned share = std::max(1u, cores / static_cast<unsigned>(r.group->local_size()));
  r.threads = plan_threads(o.threads, o.workers, r.device.is_cuda(), share);
  apply_thread_plan(r.threads, o.threads > 0);
  compat::configure_cuda(r.device, o.deterministic);
  r.channels_last = o.channels_last;
  r.fold_batchnorm = o.fold_batchnorm;
  r.deterministic = o.deterministic;
  return r;
}

const NameTable<std::string>& device_names() {
  static const NameTable<std::string> table(
      "--device", {{"auto", "auto", {}}, {"cpu", "cpu", {}}, {"cuda", "cuda", {"gpu"}}});
  return table;
}

const NameTable<std::string>& precision_request_names() {
  static const NameTable<std::string> table("--precision", {{"auto", "auto", {}},
                                                            {"fp32", "fp32", {"float32", "float"}},
                                                            {"bf16", "bf16", {"bfloat16"}},
                                                            {"fp16", "fp16", {"float16", "half"}},
                                                            {"amp", "amp", {}}});
  return table;
}

}  // namespace mura
