#include "mura/util/threads.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace mura {

std::string ThreadPlan::describe() const {
  return std::to_string(compute_threads) + " compute thread" + (compute_threads == 1 ? "" : "s") +
         ", " + std::to_string(loader_workers) + " loader worker" +
         (loader_workers == 1 ? "" : "s");
}

ThreadPlan plan_threads(int threads, int workers, bool cuda, unsigned cores) {
  if (cores == 0) cores = std::max(1u, std::thread::hardware_concurrency());
  const int n = static_cast<int>(cores);
  ThreadPlan p;
  if (cuda) {
    p.compute_threads = threads > 0 ? threads : std::min(2, n);
    p.loader_workers = workers >= 0 ? workers : std::clamp(n - 2, 1, 16);
  } else {
    p.compute_threads = threads > 0 ? threads : n;
    p.loader_workers = workers >= 0 ? workers : std::clamp(n / 4, 1, 8);
  }
  return p;
}

void apply_thread_plan(const ThreadPlan& plan, bool threads_given) {
  if (!threads_given && std::getenv("OMP_NUM_THREADS") != nullptr) return;
  at::set_num_threads(plan.compute_threads);
}

}  // namespace mura
