#pragma once
/// Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks"): one
/// scalar T > 0 divides the model's logits before the sigmoid/softmax, fitted on validation
/// logits by minimising the negative log-likelihood. It changes no ranking (AUROC, the ROC
/// curve and every operating point's sensitivity/specificity stay), only what the
/// probabilities mean.
///
/// Binary form used here: with the abnormal logit d of an image (the single logit of a
/// 1-output model; l1 - l0 of a 2-output softmax model, for which softmax(l / T)[1] =
/// sigmoid((l1 - l0) / T)), P(abnormal) = sigmoid(d / T) and
///
///   NLL(T) = mean_i [ log(1 + exp(d_i / T)) - y_i d_i / T ]
///
/// NLL is convex in b = 1 / T, so its minimum is found exactly (to 1e-12 in b) by a
/// safeguarded Newton iteration on dNLL/db (bisection when a Newton step leaves the
/// bracket), not by a fixed number of LBFGS steps. T is searched in [kMinTemperature,
/// kMaxTemperature]; a minimum at a bound (e.g. validation logits that separate the classes
/// perfectly, whose NLL keeps falling as T -> 0) is reported as such.
#include <cstddef>
#include <vector>

namespace mura::eval {

constexpr double kMinTemperature = 0.01;
constexpr double kMaxTemperature = 100.0;

struct TemperatureFit {
  double temperature = 1.0;
  double nll_before = 0.0;  ///< NLL at temperature `before` (what the model had)
  double nll_after = 0.0;   ///< NLL at the fitted temperature
  bool at_bound = false;    ///< the minimum lies at kMinTemperature or kMaxTemperature
  std::size_t iterations = 0;
};

/// NLL(T) of abnormal logits `d` with 0/1 labels (mean over items, natural log, computed
/// stably). Throws mura::Error for sizes that differ, no items, a label not 0/1, a
/// non-finite logit (with its index) or T not > 0.
double temperature_nll(const std::vector<double>& logits, const std::vector<int>& labels,
                       double temperature);

/// P(abnormal) = sigmoid(d / T) of each abnormal logit, computed stably.
std::vector<double> scaled_probabilities(const std::vector<double>& logits, double temperature);

/// The T minimising NLL on (logits, labels); `before` is the temperature the model had
/// (for nll_before). Throws mura::Error as temperature_nll, and when only one class is
/// present (the fit would drive T to a bound whatever the model).
TemperatureFit fit_temperature(const std::vector<double>& logits, const std::vector<int>& labels,
                               double before = 1.0);

}  // namespace mura::eval
