#include "mura/serve/batcher.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "mura/util/error.h"

namespace mura::serve {

namespace {
double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

Batcher::Batcher(BatchModel model, BatcherOptions options, BatchObserver observer)
    : model_(std::move(model)), options_(options), observer_(std::move(observer)) {
  MURA_CHECK(options_.max_batch >= 1, "--max-batch must be at least 1");
  MURA_CHECK(options_.max_delay_ms >= 0, "--max-delay-ms must not be negative");
  MURA_CHECK(options_.queue >= 1, "--queue must be at least 1");
  worker_ = std::thread([this] { run(); });
}

Batcher::~Batcher() {
  stop();
}

std::optional<std::future<JobResult>> Batcher::submit(torch::Tensor image, bool gradcam,
                                                      Clock::time_point deadline) {
  Job job;
  job.image = std::move(image);
  job.gradcam = gradcam;
  job.deadline = deadline;
  job.submitted = Clock::now();
  auto future = job.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue) return std::nullopt;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return future;
}

std::size_t Batcher::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Batcher::run() {
  const auto delay = std::chrono::milliseconds(options_.max_delay_ms);
  const std::size_t max_batch = static_cast<std::size_t>(options_.max_batch);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    if (queue_.front().gradcam) {
      Job job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      run_explain(job);
      lock.lock();
      continue;
    }
    // Wait for company: until the batch is full, the oldest request has waited max_delay,
    // a Grad-CAM request ends the run of plain ones, or the service stops.
    const auto until = queue_.front().submitted + delay;
    auto plain_run = [&] {
      std::size_t n = 0;
      while (n < queue_.size() && !queue_[n].gradcam) ++n;
      return n;
    };
    wake_.wait_until(lock, until, [&] {
      const std::size_t n = plain_run();
      return stopping_ || n >= max_batch || n < queue_.size();
    });
    const std::size_t take = std::min(plain_run(), max_batch);
    std::vector<Job> jobs;
    jobs.reserve(take);
    for (std::size_t i = 0; i < take; ++i) {
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    run_batch(jobs);
    lock.lock();
  }
}

void Batcher::run_explain(Job& job) {
  const auto start = Clock::now();
  if (start > job.deadline) {
    JobResult r;
    r.expired = true;
    r.queue_seconds = seconds_between(job.submitted, start);
    job.done.set_value(std::move(r));
    return;
  }
  JobResult r;
  try {
    r = model_.explain(job.image.unsqueeze(0));
  } catch (const std::exception& e) {
    r = JobResult{};
    r.error = e.what();
  }
  const double compute = seconds_between(start, Clock::now());
  r.batch_size = 1;
  r.queue_seconds = seconds_between(job.submitted, start);
  r.compute_seconds = compute;
  if (observer_) observer_(1, compute);
  job.done.set_value(std::move(r));
}

void Batcher::run_batch(std::vector<Job>& jobs) {
  const auto start = Clock::now();
  std::vector<Job*> live;
  for (auto& j : jobs) {
    if (start > j.deadline) {
      JobResult r;
      r.expired = true;
      r.queue_seconds = seconds_between(j.submitted, start);
      j.done.set_value(std::move(r));
    } else {
      live.push_back(&j);
    }
  }
  if (live.empty()) return;
  std::vector<torch::Tensor> images;
  images.reserve(live.size());
  for (Job* j : live) images.push_back(j->image);
  std::vector<double> probs;
  std::string error;
  try {
    probs = model_.predict(torch::stack(images));
    if (probs.size() != live.size())
      throw InternalError("the model gave " + std::to_string(probs.size()) + " results for " +
                          std::to_string(live.size()) + " images");
  } catch (const std::exception& e) {
    error = e.what();
  }
  const double compute = seconds_between(start, Clock::now());
  if (observer_) observer_(static_cast<int>(live.size()), compute);
  for (std::size_t i = 0; i < live.size(); ++i) {
    JobResult r;
    r.error = error;
    if (error.empty()) r.probability = probs[i];
    r.batch_size = static_cast<int>(live.size());
    r.queue_seconds = seconds_between(live[i]->submitted, start);
    r.compute_seconds = compute;
    live[i]->done.set_value(std::move(r));
  }
}

}  // namespace mura::serve
