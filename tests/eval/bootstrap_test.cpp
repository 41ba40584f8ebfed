// Bootstrap confidence intervals: deterministic per seed, the documented procedure, sane
// coverage, skipped resamples counted (its speed: bench/bootstrap_bench.cpp).
#include "mura/eval/bootstrap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../test_util.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::eval {
namespace {

using test::contains;

/// A classifier with signal: positives score higher on average.
void make_data(std::size_t n, std::uint64_t seed, double pos_rate, std::vector<int>& labels,
               std::vector<double>& scores) {
  Rng rng(seed);
  labels.resize(n);
  scores.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    labels[i] = rng.bernoulli(pos_rate) ? 1 : 0;
    // Rounded to 3 decimals, so there are ties too.
    scores[i] = std::round((0.3 * labels[i] + 0.7 * rng.uniform()) * 1000.0) / 1000.0;
  }
}

TEST(Bootstrap, SameSeedSameIntervalDifferentSeedDifferent) {
  std::vector<int> y;
  std::vector<double> s;
  make_data(400, 1, 0.4, y, s);
  BootstrapOptions o;
  o.n_resamples = 300;
  o.seed = 7;
  const auto a = bootstrap_ci(y, s, 0.5, o);
  const auto b = bootstrap_ci(y, s, 0.5, o);
  EXPECT_EQ(a.auroc.lower, b.auroc.lower);
  EXPECT_EQ(a.auroc.upper, b.auroc.upper);
  EXPECT_EQ(a.kappa.lower, b.kappa.lower);
  EXPECT_EQ(a.kappa.upper, b.kappa.upper);
  o.seed = 8;
  const auto c = bootstrap_ci(y, s, 0.5, o);
  EXPECT_TRUE(c.auroc.lower != a.auroc.lower || c.auroc.upper != a.auroc.upper);
  EXPECT_TRUE(c.kappa.lower != a.kappa.lower || c.kappa.upper != a.kappa.upper);
  EXPECT_EQ(a.seed, 7u);
  EXPECT_EQ(a.n_resamples, 300u);
}

TEST(Bootstrap, FollowsTheDocumentedProcedureExactly) {
  // Re-implements the header's recipe with the public metric functions: one Rng(seed), n
  // draws of below(n) per resample, numpy-linear quantiles of the defined values.
  std::vector<int> y;
  std::vector<double> s;
  make_data(150, 2, 0.3, y, s);
  const double thr = 0.45;
  BootstrapOptions o;
  o.n_resamples = 120;
  o.seed = 99;
  o.confidence = 0.9;
  const auto r = bootstrap_ci(y, s, thr, o);

  Rng rng(o.seed);
  std::vector<double> aucs, kappas, senss, specs;
  for (std::size_t k = 0; k < o.n_resamples; ++k) {
    std::vector<int> ry;
    std::vector<double> rs;
    for (std::size_t j = 0; j < y.size(); ++j) {
      const auto i = static_cast<std::size_t>(rng.below(y.size()));
      ry.push_back(y[i]);
      rs.push_back(s[i]);
    }
    const Score a = roc_auc(ry, rs);
    if (a.defined()) aucs.push_back(a.value);
    const Score kp = cohen_kappa(ry, predict(rs, thr));
    if (kp.defined()) kappas.push_back(kp.value);
    const Score se = sensitivity(ry, predict(rs, thr));
    if (se.defined()) senss.push_back(se.value);
    const Score sp = specificity(ry, predict(rs, thr));
    if (sp.defined()) specs.push_back(sp.value);
  }
  std::sort(aucs.begin(), aucs.end());
  std::sort(kappas.begin(), kappas.end());
  std::sort(senss.begin(), senss.end());
  std::sort(specs.begin(), specs.end());
  EXPECT_EQ(r.sensitivity.lower, quantile_linear(senss, 0.05));
  EXPECT_EQ(r.sensitivity.upper, quantile_linear(senss, 0.95));
  EXPECT_EQ(r.specificity.lower, quantile_linear(specs, 0.05));
  EXPECT_EQ(r.specificity.upper, quantile_linear(specs, 0.95));
  EXPECT_EQ(r.sensitivity.point.value, sensitivity(y, predict(s, thr)).value);
  EXPECT_EQ(r.specificity.point.value, specificity(y, predict(s, thr)).value);
  EXPECT_LT(r.sensitivity.lower, r.sensitivity.upper);
  EXPECT_EQ(r.auroc.lower, quantile_linear(aucs, 0.05));
  EXPECT_EQ(r.auroc.upper, quantile_linear(aucs, 0.95));
  EXPECT_EQ(r.kappa.lower, quantile_linear(kappas, 0.05));
  EXPECT_EQ(r.kappa.upper, quantile_linear(kappas, 0.95));
  EXPECT_EQ(r.auroc.point.value, roc_auc(y, s).value);
  EXPECT_EQ(r.kappa.point.value, cohen_kappa(y, predict(s, thr)).value);
  EXPECT_EQ(r.auroc.confidence, 0.9);
}

TEST(Bootstrap, IntervalContainsThePointEstimateOfAReasonableClassifier) {
  std::vector<int> y;
  std::vector<double> s;
  make_data(600, 3, 0.45, y, s);
  const auto r = bootstrap_ci(y, s);
  ASSERT_TRUE(r.auroc.defined());
  ASSERT_TRUE(r.kappa.defined());
  EXPECT_GT(r.auroc.point.value, 0.7);
  EXPECT_LT(r.auroc.lower, r.auroc.point.value);
  EXPECT_GT(r.auroc.upper, r.auroc.point.value);
  EXPECT_LT(r.kappa.lower, r.kappa.point.value);
  EXPECT_GT(r.kappa.upper, r.kappa.point.value);
  EXPECT_LT(r.auroc.upper - r.auroc.lower, 0.15);
  EXPECT_EQ(r.auroc.n_used, 1000u);
  EXPECT_EQ(r.auroc.n_skipped, 0u);
  EXPECT_TRUE(contains(r.auroc.format(), "(95% CI ")) << r.auroc.format();
  EXPECT_TRUE(contains(r.auroc.format(), " to ")) << r.auroc.format();
}

TEST(Bootstrap, OneClassResamplesAreSkippedAndCounted) {
  // One positive in 25: about (24/25)^25 = 36% of resamples have no positive.
  std::vector<int> y(25, 0);
  y[4] = 1;
  std::vector<double> s(25);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<double>(i) / 25.0;
  BootstrapOptions o;
  o.n_resamples = 500;
  const auto r = bootstrap_ci(y, s, 0.5, o);
  EXPECT_GT(r.auroc.n_skipped, 100u);
  EXPECT_GT(r.auroc.n_used, 200u);
  EXPECT_EQ(r.auroc.n_used + r.auroc.n_skipped, 500u);
  EXPECT_EQ(r.kappa.n_used + r.kappa.n_skipped, 500u);
  EXPECT_EQ(r.sensitivity.n_skipped, r.auroc.n_skipped) << "no positive: no sensitivity either";
  EXPECT_EQ(r.specificity.n_skipped, 0u);
  EXPECT_TRUE(r.auroc.defined());
}

TEST(Bootstrap, OneClassInputGivesUndefinedIntervalsNotACrash) {
  const std::vector<int> y(30, 1);
  std::vector<double> s(30);
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<double>(i) / 30.0;
  BootstrapOptions o;
  o.n_resamples = 50;
  const auto r = bootstrap_ci(y, s, 0.5, o);
  EXPECT_FALSE(r.auroc.point.defined());
  EXPECT_FALSE(r.auroc.defined());
  EXPECT_EQ(r.auroc.n_used, 0u);
  EXPECT_EQ(r.auroc.n_skipped, 50u);
  EXPECT_EQ(r.auroc.format(), "n/a (only one class present)");
  // Kappa is defined here (both classes predicted), although it is 0 on every resample.
  EXPECT_TRUE(r.kappa.point.defined());
}

TEST(Bootstrap, BadOptionsAreErrors) {
  const std::vector<int> y = {0, 1, 0, 1};
  const std::vector<double> s = {0.1, 0.9, 0.4, 0.6};
  BootstrapOptions o;
  o.n_resamples = 0;
  EXPECT_THROW(bootstrap_ci(y, s, 0.5, o), Error);
  o.n_resamples = 10;
  o.confidence = 1.0;
  EXPECT_ERROR_CONTAINS(bootstrap_ci(y, s, 0.5, o), "bootstrap: confidence must be in (0, 1)");
  EXPECT_EQ(test::error_message([] {
              bootstrap_ci({0, 1}, {0.1}, 0.5);
            }),
            "bootstrap: 2 labels but 1 scores");
  EXPECT_THROW(quantile_linear({}, 0.5), Error);
  EXPECT_THROW(quantile_linear({1.0}, 1.5), Error);
}

TEST(Bootstrap, QuantileLinearSmallCases) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_EQ(quantile_linear(v, 0.0), 1.0);
  EXPECT_EQ(quantile_linear(v, 1.0), 4.0);
  EXPECT_EQ(quantile_linear(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.025), 1.075);
  EXPECT_DOUBLE_EQ(quantile_linear(v, 0.975), 3.925);
  EXPECT_EQ(quantile_linear({7.0}, 0.3), 7.0);
}

// Its speed is measured by bench/bootstrap_bench.cpp (mura_bench_bootstrap), not here: a
// wall-clock bound fails on a busy machine and says nothing about correctness.
TEST(Bootstrap, ThousandResamplesOf3200ItemsAreAllUsed) {
  std::vector<int> y;
  std::vector<double> s;
  make_data(3200, 4, 0.4, y, s);
  const auto r = bootstrap_ci(y, s);
  EXPECT_EQ(r.n_resamples, 1000u);
  EXPECT_EQ(r.auroc.n_used, 1000u);
  EXPECT_EQ(r.auroc.n_skipped, 0u);
  EXPECT_EQ(r.kappa.n_used, 1000u);
}

}  // namespace
}  // namespace mura::eval
