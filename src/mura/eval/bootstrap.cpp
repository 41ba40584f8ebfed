#include "mura/eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "mura/util/error.h"
#include "mura/util/rng.h"

namespace mura::eval {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

BootstrapInterval interval_of(Score point, std::vector<double>& values, std::size_t n_resamples,
                              double confidence) {
  BootstrapInterval iv;
  iv.point = std::move(point);
  iv.confidence = confidence;
  iv.n_used = values.size();
  iv.n_skipped = n_resamples - values.size();
  if (!values.empty()) {
    std::sort(values.begin(), values.end());
    iv.lower = quantile_linear(values, (1.0 - confidence) / 2.0);
    iv.upper = quantile_linear(values, (1.0 + confidence) / 2.0);
  }
  return iv;
}

}  // namespace

bool BootstrapInterval::defined() const {
  return !std::isnan(lower) && !std::isnan(upper);
}

std::string BootstrapInterval::format(int digits) const {
  if (!point.defined()) return point.format(digits);
  char pct[32];
  std::snprintf(pct, sizeof pct, "%g%%", confidence * 100.0);
  if (!defined())
    return point.format(digits) + " (" + pct + " CI n/a: no resample had both classes)";
  return point.format(digits) + " (" + pct + " CI " + fixed(lower, digits) + " to " +
         fixed(upper, digits) + ")";
}

double quantile_linear(const std::vector<double>& v, double q) {
  if (v.empty()) throw Error("quantile: no values");
  if (!(q >= 0.0 && q <= 1.0)) throw Error("quantile: q must be in [0, 1], got " + fixed(q, 6));
  const std::size_t m = v.size();
  const double h = static_cast<double>(m - 1) * q;  // numpy: (n - 1) * quantiles
  const double lo_f = std::floor(h);
  if (lo_f >= static_cast<double>(m - 1)) return v[m - 1];
  const auto lo = static_cast<std::size_t>(lo_f);
  const double a = v[lo], b = v[lo + 1], t = h - lo_f;
  // numpy's _lerp: a + (b - a) t, but b - (b - a)(1 - t) where t >= 0.5.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

BootstrapResult bootstrap_ci(const std::vector<int>& labels, const std::vector<double>& scores,
                             double threshold, const BootstrapOptions& options) {
  validate_inputs(labels, scores, "bootstrap");
  if (options.n_resamples == 0) throw Error("bootstrap: n_resamples must be at least 1");
  if (!(options.confidence > 0.0 && options.confidence < 1.0))
    throw Error("bootstrap: confidence must be in (0, 1), got " + fixed(options.confidence, 6));
  if (!std::isfinite(threshold))
    throw Error("bootstrap: the threshold must be finite, got " + fixed(threshold, 6));

  const std::size_t n = labels.size();
  const std::vector<int> preds = predict(scores, threshold);

  // Items sorted by decreasing score once; a resample is then a multiplicity per sorted
  // position, and AUROC is one pass over the distinct-score groups.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<std::uint32_t> position(n);      // item -> sorted position
  std::vector<unsigned char> pos_label(n);     // sorted position -> label
  std::vector<unsigned char> closes_group(n);  // last of its run of equal scores
  std::vector<unsigned char> cell(n);          // item -> 0 tn, 1 fp, 2 fn, 3 tp
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k];
    position[i] = static_cast<std::uint32_t>(k);
    pos_label[k] = static_cast<unsigned char>(labels[i]);
    closes_group[k] = (k + 1 == n || scores[order[k + 1]] != scores[i]) ? 1 : 0;
  }
  for (std::size_t i = 0; i < n; ++i)
    cell[i] = static_cast<unsigned char>(2 * labels[i] + preds[i]);

  std::vector<std::uint32_t> mult(n);
  std::vector<double> aurocs, kappas, sensitivities, specificities;
  aurocs.reserve(options.n_resamples);
  kappas.reserve(options.n_resamples);
  sensitivities.reserve(options.n_resamples);
  specificities.reserve(options.n_resamples);
  Rng rng(options.seed);
  for (std::size_t r = 0; r < options.n_resamples; ++r) {
    std::fill(mult.begin(), mult.end(), 0u);
    std::int64_t cells[4] = {0, 0, 0, 0};
    for (std::size_t j = 0; j < n; ++j) {
      const auto i = static_cast<std::size_t>(rng.below(n));
      ++mult[position[i]];
      ++cells[cell[i]];
    }
    ConfusionMatrix m;
    m.tn = cells[0];
    m.fp = cells[1];
    m.fn = cells[2];
    m.tp = cells[3];
    const Score kappa = cohen_kappa(m);
    if (kappa.defined()) kappas.push_back(kappa.value);
    const Score sens = sensitivity(m), spec = specificity(m);
    if (sens.defined()) sensitivities.push_back(sens.value);
    if (spec.defined()) specificities.push_back(spec.value);

    const std::int64_t n_pos = m.tp + m.fn, n_neg = m.tn + m.fp;
    if (n_pos == 0 || n_neg == 0) continue;
    // The same integer trapezoid sum as roc_auc, with multiplicities.
    std::int64_t tp = 0, fp = 0, prev_tp = 0, prev_fp = 0;
    double twice_area = 0.0;
    for (std::size_t k = 0; k < n; ++k) {
      if (pos_label[k])
        tp += mult[k];
      else
        fp += mult[k];
      if (closes_group[k]) {
        twice_area += static_cast<double>((fp - prev_fp) * (tp + prev_tp));
        prev_fp = fp;
        prev_tp = tp;
      }
    }
    aurocs.push_back(twice_area / (2.0 * static_cast<double>(n_pos) * static_cast<double>(n_neg)));
  }

  BootstrapResult res;
  res.threshold = threshold;
  res.n_resamples = options.n_resamples;
  res.seed = options.seed;
  res.auroc = interval_of(roc_auc(labels, scores), aurocs, options.n_resamples, options.confidence);
  res.kappa =
      interval_of(cohen_kappa(labels, preds), kappas, options.n_resamples, options.confidence);
  res.sensitivity = interval_of(sensitivity(labels, preds), sensitivities, options.n_resamples,
                                options.confidence);
  res.specificity = interval_of(specificity(labels, preds), specificities, options.n_resamples,
                                options.confidence);
  return res;
}

}  // namespace mura::eval
