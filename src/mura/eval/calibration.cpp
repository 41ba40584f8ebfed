#include "mura/eval/calibration.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "mura/util/error.h"

namespace mura::eval {

Calibration calibration(const std::vector<int>& labels, const std::vector<double>& probabilities,
                        std::size_t n_bins) {
  if (n_bins == 0) throw Error("calibration: n_bins must be at least 1");
  if (labels.size() != probabilities.size())
    throw Error("calibration: " + std::to_string(labels.size()) + " labels but " +
                std::to_string(probabilities.size()) + " probabilities");
  if (labels.empty()) throw Error("calibration: no items");

  // numpy.linspace(0, 1, n_bins + 1): i * step, the last set to exactly 1.
  const double step = 1.0 / static_cast<double>(n_bins);
  std::vector<double> edges(n_bins + 1);
  for (std::size_t i = 0; i <= n_bins; ++i) edges[i] = static_cast<double>(i) * step;
  edges[n_bins] = 1.0;

  std::vector<double> sum_p(n_bins, 0.0), sum_y(n_bins, 0.0);
  std::vector<std::size_t> count(n_bins, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double p = probabilities[i];
    if (labels[i] != 0 && labels[i] != 1)
      throw Error("calibration: label " + std::to_string(labels[i]) + " at index " +
                  std::to_string(i) + " is not 0 or 1");
    if (!(p >= 0.0 && p <= 1.0))
      throw Error("calibration: probability " + std::to_string(p) + " at index " +
                  std::to_string(i) + " is not in [0, 1]");
    // searchsorted(edges[1:-1], p, side="right"): interior edges <= p.
    const auto b = static_cast<std::size_t>(
        std::upper_bound(edges.begin() + 1, edges.end() - 1, p) - (edges.begin() + 1));
    sum_p[b] += p;
    sum_y[b] += labels[i];
    ++count[b];
  }

  Calibration c;
  c.n = labels.size();
  c.bins.resize(n_bins);
  for (std::size_t b = 0; b < n_bins; ++b) {
    CalibrationBin& bin = c.bins[b];
    bin.lower = edges[b];
    bin.upper = edges[b + 1];
    bin.count = count[b];
    if (count[b] == 0) continue;
    const double n = static_cast<double>(count[b]);
    bin.mean_probability = sum_p[b] / n;
    bin.observed_rate = sum_y[b] / n;
    c.ece += n / static_cast<double>(c.n) * std::fabs(bin.observed_rate - bin.mean_probability);
  }
  return c;
}

}  // namespace mura::eval
