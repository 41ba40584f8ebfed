#pragma once
/// Calibration: the reliability diagram and the expected calibration error (ECE).
///
/// Bins as sklearn.calibration.calibration_curve(labels, probabilities, n_bins,
/// strategy="uniform"): edges numpy.linspace(0, 1, n_bins + 1) (edge i = i * (1 / n_bins),
/// the last exactly 1), and a probability p falls in bin b = the number of interior edges
/// <= p (numpy.searchsorted(edges[1:-1], p, side="right")), so bin b is [edge b, edge b+1)
/// and the last bin also holds 1.0. For each bin: its count, the mean probability in it
/// (the model's confidence) and the share of abnormal labels in it (the observed frequency).
///
///   ECE = sum over non-empty bins of (count_b / N) * |observed_b - mean_probability_b|
///
/// (Naeini et al. 2015; Guo et al. 2017, with the probability of the abnormal class as the
/// "confidence", the usual choice for a binary classifier). 0 for a perfectly calibrated
/// model, at most 1.
#include <cstddef>
#include <limits>
#include <vector>

namespace mura::eval {

struct CalibrationBin {
  double lower = 0.0;  ///< edge b
  double upper = 0.0;  ///< edge b + 1
  std::size_t count = 0;
  double mean_probability = std::numeric_limits<double>::quiet_NaN();  ///< NaN when empty
  double observed_rate = std::numeric_limits<double>::quiet_NaN();     ///< NaN when empty
};

struct Calibration {
  std::vector<CalibrationBin> bins;  ///< n_bins, in increasing order
  double ece = 0.0;
  std::size_t n = 0;
};

/// The reliability bins and ECE of probabilities in [0, 1] with 0/1 labels. Throws
/// mura::Error for sizes that differ, no items, a label not 0/1, a probability outside [0, 1]
/// or NaN (with its index), or n_bins == 0.
Calibration calibration(const std::vector<int>& labels, const std::vector<double>& probabilities,
                        std::size_t n_bins = 10);

}  // namespace mura::eval
