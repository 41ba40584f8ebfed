// Speed of the bootstrap confidence intervals (mura::eval::bootstrap_ci, as `mura evaluate
// --bootstrap N` runs it): R resamples of N items, timed REPEATS times after one untimed
// warm-up call, on synthetic labels and scores with signal and ties (the same recipe as
// tests/eval/bootstrap_test.cpp). The unit tests check the intervals; this program only
// times them (a wall-clock bound in a test fails on a busy machine).
//
//   mura_bench_bootstrap [ITEMS ...]   (default: 400 3200 40000)
//   environment: RESAMPLES (1000), REPEATS (5), SEED (4)
//
// One JSON line per item count on stdout, for example:
//   {"impl":"mura","what":"bootstrap_ci","items":3200,"resamples":1000,"repeats":5,
//    "best_ms":21.3,"median_ms":22.0,"ms_per_resample":0.0213}
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "mura/eval/bootstrap.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace {

long env_long(const char* name, long fallback, long lo) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo) {
    std::cerr << "mura_bench_bootstrap: " << name << ": expected an integer >= " << lo << ", got '"
              << v << "'\n";
    std::exit(2);
  }
  return x;
}

/// A classifier with signal: positives score higher on average; scores rounded to 3
/// decimals, so there are ties.
void make_data(std::size_t n, std::uint64_t seed, std::vector<int>& labels,
               std::vector<double>& scores) {
  mura::Rng rng(seed);
  labels.resize(n);
  scores.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = rng.bernoulli(0.4) ? 1 : 0;
    scores[i] = std::round((0.3 * labels[i] + 0.7 * rng.uniform()) * 1000.0) / 1000.0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    char* end = nullptr;
    const long n = std::strtol(a.c_str(), &end, 10);
    if (a == "-h" || a == "--help" || a.empty() || *end != '\0' || n < 2) {
      std::cerr
          << "usage: mura_bench_bootstrap [ITEMS ...]   (items >= 2; default 400 3200 40000)\n"
             "environment: RESAMPLES (1000), REPEATS (5), SEED (4)\n";
      return a == "-h" || a == "--help" ? 0 : 2;
    }
    sizes.push_back(static_cast<std::size_t>(n));
  }
  if (sizes.empty()) sizes = {400, 3200, 40000};
  mura::eval::BootstrapOptions options;
  options.n_resamples = static_cast<std::size_t>(env_long("RESAMPLES", 1000, 1));
  const int repeats = static_cast<int>(env_long("REPEATS", 5, 1));
  const auto seed = static_cast<std::uint64_t>(env_long("SEED", 4, 0));
  try {
    for (const std::size_t n : sizes) {
      std::vector<int> y;
      std::vector<double> s;
      make_data(n, seed, y, s);
      std::size_t used = mura::eval::bootstrap_ci(y, s, 0.5, options).auroc.n_used;  // warm-up
      std::vector<double> ms;
      for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        used = mura::eval::bootstrap_ci(y, s, 0.5, options).auroc.n_used;
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      std::sort(ms.begin(), ms.end());
      const double median =
          ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2.0;
      std::printf(
          "{\"impl\":\"mura\",\"what\":\"bootstrap_ci\",\"items\":%zu,\"resamples\":%zu,"
          "\"repeats\":%d,\"auroc_resamples_used\":%zu,\"best_ms\":%.2f,\"median_ms\":%.2f,"
          "\"ms_per_resample\":%.4f}\n",
          n, options.n_resamples, repeats, used, ms.front(), median,
          ms.front() / static_cast<double>(options.n_resamples));
      std::fflush(stdout);
    }
  } catch (const mura::Error& e) {
    std::cerr << "mura_bench_bootstrap: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
