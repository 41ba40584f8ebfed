#pragma once
// A process group made of threads of one process, for tests of the code that runs on a
// Collective: every collective is a rendezvous of all "ranks" on a shared slot, so the
// data-parallel pieces can be checked in-process against one batch, deterministically.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "mura/util/collective.h"

namespace mura::test {

/// Ranks as threads of one process: every collective is a rendezvous on a shared slot.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(static_cast<std::size_t>(size)) {}
  class Member : public Collective {
   public:
    Member(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return g_.size_; }
    int local_size() const override { return g_.size_; }
    int local_rank() const override { return rank_; }
    std::string describe() const override { return "threads"; }
    std::function<void()> all_reduce_sum_async(std::vector<torch::Tensor>& t,
                                               const std::string&) override {
      for (auto& x : t) {
        auto all = g_.exchange(rank_, x);
        auto sum = torch::zeros_like(x);
        for (auto& a : all) sum += a;
        x.copy_(sum);
      }
      return [] {};
    }
    void broadcast(std::vector<torch::Tensor>& t, int root, const std::string&) override {
      for (auto& x : t) x.copy_(g_.exchange(rank_, x)[static_cast<std::size_t>(root)]);
    }
    std::vector<torch::Tensor> all_gather(const torch::Tensor& x, const std::string&) override {
      return g_.exchange(rank_, x);
    }
    void barrier(const std::string&) override { g_.exchange(rank_, torch::zeros({1})); }

   private:
    ThreadGroup& g_;
    int rank_;
  };
  /// Every rank's tensor (copies), once all have arrived.
  std::vector<torch::Tensor> exchange(int rank, const torch::Tensor& x) {
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t gen = generation_;
    slots_[static_cast<std::size_t>(rank)] = x.detach().clone();
    if (++arrived_ == size_) {
      result_ = slots_;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
    return result_;
  }

 private:
  int size_;
  std::vector<torch::Tensor> slots_, result_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace mura::test
