#include "mura/serve/metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace mura::serve {

namespace {
const std::vector<double> kSecondsBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,   30};
const std::vector<double> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string join_labels(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}
}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += v;
  ++count_;
}

std::string Histogram::text(const std::string& name, const std::string& labels) const {
  std::ostringstream o;
  unsigned long long cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    o << name << "_bucket{" << join_labels(labels, "le=\"" + le + "\"") << "} " << cumulative
      << "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  o << name << "_sum" << braces << " " << number(sum_) << "\n";
  o << name << "_count" << braces << " " << count_ << "\n";
  return o.str();
}

Metrics::Metrics()
    : queue_wait_(kSecondsBuckets), batch_size_(kBatchBuckets), inference_(kSecondsBuckets) {}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  latency_.try_emplace(route, kSecondsBuckets).first->second.observe(seconds);
}

void Metrics::queue_wait(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_wait_.observe(seconds);
}

void Metrics::batch(int size, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(size);
  inference_.observe(seconds);
}

void Metrics::set_queue_depth(std::function<std::size_t()> depth) {
  std::lock_guard<std::mutex> lock(mutex_);
  depth_ = std::move(depth);
}

unsigned long long Metrics::requests(const std::string& route, int status) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = requests_.find({route, status});
  return it == requests_.end() ? 0 : it->second;
}

std::string Metrics::text() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream o;
  o << "# HELP mura_requests_total HTTP requests answered, by route and status.\n"
    << "# TYPE mura_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    o << "mura_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n
      << "\n";
  o << "# HELP mura_request_seconds Time from the request's arrival to its answer.\n"
    << "# TYPE mura_request_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    o << h.text("mura_request_seconds", "route=\"" + route + "\"");
  o << "# HELP mura_queue_wait_seconds Time a request waited in the batch queue.\n"
    << "# TYPE mura_queue_wait_seconds histogram\n"
    << queue_wait_.text("mura_queue_wait_seconds");
  o << "# HELP mura_batch_size Images per forward pass.\n"
    << "# TYPE mura_batch_size histogram\n"
    << batch_size_.text("mura_batch_size");
  o << "# HELP mura_inference_seconds Seconds per forward (and Grad-CAM backward) pass.\n"
    << "# TYPE mura_inference_seconds histogram\n"
    << inference_.text("mura_inference_seconds");
  o << "# HELP mura_queue_depth Requests waiting for the model now.\n"
    << "# TYPE mura_queue_depth gauge\n"
    << "mura_queue_depth " << (depth_ ? depth_() : 0) << "\n";
  return o.str();
}

}  // namespace mura::serve
