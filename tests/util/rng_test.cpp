#include "mura/util/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace mura {
namespace {

TEST(Rng, SplitMix64MatchesTheReferenceImplementation) {
  // First outputs of Vigna's splitmix64.c from state 0 (published reference values).
  std::uint64_t state = 0;
  EXPECT_EQ(splitmix64(state), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(splitmix64(state), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(splitmix64(state), 0x06C45D188009454FULL);
}

TEST(Rng, SameSeedSameSequenceDifferentSeedDifferent) {
  Rng a(123), b(123), c(124);
  bool any_diff = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    any_diff |= x != c.next_u64();
  }
  EXPECT_TRUE(any_diff);
}

TEST(Rng, BelowStaysInRangeAndCoversIt) {
  Rng r(7);
  std::vector<int> hist(10, 0);
  for (int i = 0; i < 10000; ++i) {
    const auto v = r.below(10);
    ASSERT_LT(v, 10u);
    ++hist[v];
  }
  for (int h : hist) EXPECT_NEAR(h, 1000, 150);
  EXPECT_EQ(r.below(1), 0u);
}

TEST(Rng, UniformIsInUnitInterval) {
  Rng r(9);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Rng, ShuffleIsADeterministicPermutation) {
  std::vector<int> v(50), w;
  std::iota(v.begin(), v.end(), 0);
  w = v;
  Rng(5).shuffle(v);
  Rng(5).shuffle(w);
  EXPECT_EQ(v, w);
  EXPECT_NE(v, [] {
    std::vector<int> s(50);
    std::iota(s.begin(), s.end(), 0);
    return s;
  }());
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(v[i], i);
}

TEST(Rng, MixSeedDependsOnEveryPartAndItsOrder) {
  std::set<std::uint64_t> seen;
  for (std::uint64_t a = 0; a < 4; ++a)
    for (std::uint64_t b = 0; b < 4; ++b)
      for (std::uint64_t c = 0; c < 4; ++c) seen.insert(mix_seed({a, b, c}));
  EXPECT_EQ(seen.size(), 64u);
  EXPECT_NE(mix_seed({1, 2}), mix_seed({2, 1}));
}

}  // namespace
}  // namespace mura
