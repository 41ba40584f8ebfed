#pragma once
/// Bootstrap confidence intervals for AUROC, Cohen's kappa, sensitivity and specificity.
///
/// Method (nonparametric percentile bootstrap): resample the n items with replacement
/// `n_resamples` times, compute the metric on each resample, and report the (1-c)/2 and
/// (1+c)/2 quantiles of the resampled values (c = confidence). The quantile is numpy's
/// default, np.quantile(values, q) with method="linear" (Hyndman & Fan type 7): with the m
/// values sorted, h = (m - 1) q, result = v[floor h] + (h - floor h) (v[floor h + 1] -
/// v[floor h]), evaluated as numpy's _lerp does; Python users get the same numbers from
/// np.percentile(values, [2.5, 97.5]).
///
/// Resampling, exactly (so it can be reproduced anywhere): one mura::Rng(seed); for each
/// resample in turn, n draws of rng.below(n), each the index of a chosen item. mura::Rng is
/// platform-independent, so the same seed gives the same interval on every machine.
///
/// A resample where a metric is undefined (AUROC: one class only; kappa: labels and
/// predictions all one class; sensitivity: no abnormal item; specificity: no normal item)
/// is skipped for that metric and counted; the interval uses the
/// others (n_used + n_skipped = n_resamples for each metric). Each resample costs O(n): the
/// items are sorted by score once and a resample is a vector of multiplicities, so 1,000
/// resamples of 3,200 items take a few tens of milliseconds.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mura/eval/metrics.h"

namespace mura::eval {

struct BootstrapOptions {
  std::size_t n_resamples = 1000;  ///< >= 1
  std::uint64_t seed = 42;
  double confidence = 0.95;  ///< in (0, 1)
};

/// A point estimate with its percentile interval.
struct BootstrapInterval {
  Score point;  ///< the metric on all items (NaN with a reason when undefined)
  double lower = std::numeric_limits<double>::quiet_NaN();
  double upper = std::numeric_limits<double>::quiet_NaN();
  double confidence = 0.95;
  std::size_t n_used = 0;     ///< resamples where the metric was defined
  std::size_t n_skipped = 0;  ///< resamples where it was not (one class only)

  /// True when lower/upper are numbers (at least one resample was used).
  bool defined() const;
  /// "0.8765 (95% CI 0.8512 to 0.9003)", "n/a (only one class present)", or
  /// "0.8765 (95% CI n/a: no resample had both classes)".
  std::string format(int digits = 4) const;
};

struct BootstrapResult {
  BootstrapInterval auroc;
  BootstrapInterval kappa;        ///< of the predictions `score >= threshold`
  BootstrapInterval sensitivity;  ///< TP / (TP + FN) of the same predictions
  BootstrapInterval specificity;  ///< TN / (TN + FP) of the same predictions
  double threshold = 0.5;
  std::size_t n_resamples = 0;
  std::uint64_t seed = 0;
};

/// Percentile bootstrap intervals of AUROC, Cohen's kappa, sensitivity and specificity
/// (see the file comment); all four from the same resamples.
/// Throws mura::Error for invalid input (as compute_binary_metrics), n_resamples == 0, a
/// confidence outside (0, 1) or a non-finite threshold.
BootstrapResult bootstrap_ci(const std::vector<int>& labels, const std::vector<double>& scores,
                             double threshold = 0.5, const BootstrapOptions& options = {});

/// numpy's np.quantile(sorted_values, q) with the default linear method; `sorted_values`
/// ascending and non-empty, q in [0, 1]. Throws mura::Error otherwise.
double quantile_linear(const std::vector<double>& sorted_values, double q);

}  // namespace mura::eval
