#pragma once
/// Dynamic batching for the service, as Triton's dynamic batcher does it: requests queue up
/// (bounded), one worker thread owns the model(s) and takes up to `max_batch` requests at a
/// time, waiting at most `max_delay_ms` after the oldest one arrived for others to join.
///
/// - The queue is bounded: submit() refuses (the caller answers 503 with Retry-After) instead
///   of letting a burst wait without end.
/// - A request whose deadline has passed when its batch is formed is dropped before any
///   compute (its result says `expired`).
/// - Grad-CAM requests run alone (the model switches to gradient mode for them) on the same
///   worker, so no LibTorch module is ever used by two threads.
/// - stop() lets the worker finish every queued request, then joins it (graceful drain).
#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mura/explain/gradcam.h"

namespace mura::serve {

using Clock = std::chrono::steady_clock;

struct BatcherOptions {
  int max_batch = 8;       ///< --max-batch: images per forward pass at most
  int max_delay_ms = 5;    ///< --max-delay-ms: how long the oldest request waits for company
  std::size_t queue = 64;  ///< --queue: requests waiting at most; more are refused
};

/// What the worker computed for one request.
struct JobResult {
  double probability = 0;
  torch::Tensor cam;              ///< [h, w] float in [0, 1] (Grad-CAM requests only)
  explain::CamGeometry geometry;  ///< where `cam` lies on the input
  bool expired = false;           ///< the deadline passed before compute: nothing ran
  std::string error;              ///< non-empty: the model failed on this batch
  int batch_size = 0;             ///< images in the forward pass that computed it
  double queue_seconds = 0;       ///< from submit() to the start of its batch
  double compute_seconds = 0;     ///< the batch's forward (and backward) pass
};

/// The model side, called on the worker thread only.
struct BatchModel {
  /// [B,3,H,W] float (CPU) -> B probabilities.
  std::function<std::vector<double>(const torch::Tensor&)> predict;
  /// [1,3,H,W] -> probability, CAM and geometry (the other fields are the batcher's).
  std::function<JobResult(const torch::Tensor&)> explain;
};

/// Called on the worker after each forward pass (metrics): batch size and compute seconds.
using BatchObserver = std::function<void(int batch_size, double seconds)>;

class Batcher {
 public:
  Batcher(BatchModel model, BatcherOptions options, BatchObserver observer = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Queues one normalised image [3,H,W] (float, CPU). Returns nothing when the queue is full
  /// or the batcher is stopping.
  std::optional<std::future<JobResult>> submit(torch::Tensor image, bool gradcam,
                                               Clock::time_point deadline);
  /// Requests waiting now.
  std::size_t depth() const;
  /// Finishes every queued request, then stops the worker. Idempotent.
  void stop();

 private:
  struct Job {
    torch::Tensor image;
    bool gradcam = false;
    Clock::time_point deadline, submitted;
    std::promise<JobResult> done;
  };
  void run();
  void run_explain(Job& job);
  void run_batch(std::vector<Job>& jobs);

  BatchModel model_;
  BatcherOptions options_;
  BatchObserver observer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mura::serve
