#pragma once
/// Deterministic random numbers that are identical on every platform.
///
/// std::shuffle and std::uniform_*_distribution are implementation-defined: the same seed
/// gives different results with libstdc++, libc++ and MSVC. Everything that must repeat
/// (the patient split, the loader's shuffle, per-sample augmentation, synthetic data) uses
/// this generator instead: xoshiro256** seeded through SplitMix64, with exactly specified
/// integer, real and shuffle helpers.
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace mura {

/// One SplitMix64 step: advances `state` and returns the next output.
std::uint64_t splitmix64(std::uint64_t& state);

/// Folds several values into one 64-bit seed (order matters): e.g. (seed, epoch, index).
std::uint64_t mix_seed(std::initializer_list<std::uint64_t> parts);

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  /// Next raw 64-bit output of xoshiro256**.
  std::uint64_t next_u64();
  /// Uniform integer in [0, n), n > 0: Lemire's multiply-shift with rejection (unbiased).
  std::uint64_t below(std::uint64_t n);
  /// Uniform double in [0, 1) from the top 53 bits.
  double uniform();
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }
  /// Standard normal deviate (Box-Muller; uses libm, so equal across platforms only up to
  /// the last ulp: use it for synthetic pixels, never for decisions that must repeat).
  double normal();

  /// Fisher-Yates shuffle, from the back, drawing with below().
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) {
      std::size_t j = static_cast<std::size_t>(below(i));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace mura
