#pragma once
/// How the cores are shared between LibTorch's intra-op threads (the model) and the loader's
/// worker threads (decode, resize, augment): chosen from the machine unless the user says.
#include <string>

namespace mura {

struct ThreadPlan {
  int compute_threads = 1;       ///< at::set_num_threads
  int loader_workers = 1;        ///< data::LoaderOptions::workers
  std::string describe() const;  ///< "2 compute threads, 1 loader worker"
};

/// `threads` <= 0 and `workers` < 0 mean "choose". On a CPU the model is the bottleneck:
/// every core computes, and cores/4 workers (at least 1, at most 8) keep batches ready
/// (decoding a radiograph costs a few ms, a forward pass tens). On CUDA the GPU computes and
/// the host decodes: 2 compute threads and the remaining cores as workers (at most 16).
/// `cores` = 0 reads std::thread::hardware_concurrency().
ThreadPlan plan_threads(int threads, int workers, bool cuda, unsigned cores = 0);

/// Sets LibTorch's intra-op thread count to plan.compute_threads (unless OMP_NUM_THREADS is
/// set and `threads` was not given, so the environment keeps working as users expect).
void apply_thread_plan(const ThreadPlan& plan, bool threads_given);

}  // namespace mura
