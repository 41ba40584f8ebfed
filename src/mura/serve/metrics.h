#pragma once
/// The service's numbers in the Prometheus text exposition format (GET /metrics): requests
/// by route and status, request latency, queue wait, batch sizes, model inference seconds and
/// the queue depth. Thread-safe: every HTTP thread and the batch worker record into one.
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mura::serve {

/// A cumulative histogram with fixed upper bounds (Prometheus `le` buckets, +Inf last).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  /// `name`_bucket{le=...}, `name`_sum, `name`_count lines; `labels` (`a="b"`) go first.
  std::string text(const std::string& name, const std::string& labels = "") const;

 private:
  std::vector<double> bounds_;
  std::vector<unsigned long long> counts_;  ///< per bucket (not cumulative), +Inf last
  double sum_ = 0;
  unsigned long long count_ = 0;
};

class Metrics {
 public:
  Metrics();
  /// One answered request: its route pattern (never the raw path), status and seconds.
  void request(const std::string& route, int status, double seconds);
  /// One request's wait in the batch queue.
  void queue_wait(double seconds);
  /// One forward pass: its batch size and seconds.
  void batch(int size, double seconds);
  /// Where the queue depth is read from when the page is rendered.
  void set_queue_depth(std::function<std::size_t()> depth);
  /// The whole exposition (text/plain; version=0.0.4).
  std::string text() const;
  /// Requests answered so far with this route and status (tests).
  unsigned long long requests(const std::string& route, int status) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, unsigned long long> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram queue_wait_, batch_size_, inference_;
  std::function<std::size_t()> depth_;
};

}  // namespace mura::serve
