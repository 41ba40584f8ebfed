#include "mura/eval/temperature.h"

#include <cmath>
#include <string>

#include "mura/util/error.h"

namespace mura::eval {

namespace {

void check(const std::vector<double>& d, const std::vector<int>& y) {
  if (d.size() != y.size())
    throw Error("temperature scaling: " + std::to_string(d.size()) + " logits but " +
                std::to_string(y.size()) + " labels");
  if (d.empty()) throw Error("temperature scaling: no items");
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (y[i] != 0 && y[i] != 1)
      throw Error("temperature scaling: label " + std::to_string(y[i]) + " at index " +
                  std::to_string(i) + " is not 0 or 1");
    if (!std::isfinite(d[i]))
      throw Error("temperature scaling: logit at index " + std::to_string(i) + " is not finite");
  }
}

/// log(1 + exp(z)) without overflow.
double softplus(double z) {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

/// NLL at b = 1 / T, and its first and second derivatives in b.
struct Nll {
  double value = 0, slope = 0, curvature = 0;
};
Nll nll_at(const std::vector<double>& d, const std::vector<int>& y, double b) {
  Nll r;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const double z = b * d[i], s = sigmoid(z);
    r.value += softplus(z) - y[i] * z;
    r.slope += (s - y[i]) * d[i];
    r.curvature += s * (1 - s) * d[i] * d[i];
  }
  const double n = static_cast<double>(d.size());
  r.value /= n;
  r.slope /= n;
  r.curvature /= n;
  return r;
}

}  // namespace

std::vector<double> scaled_probabilities(const std::vector<double>& logits, double temperature) {
  std::vector<double> p;
  p.reserve(logits.size());
  for (double v : logits) p.push_back(sigmoid(v / temperature));
  return p;
}

double temperature_nll(const std::vector<double>& logits, const std::vector<int>& labels,
                       double temperature) {
  check(logits, labels);
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw Error("temperature scaling: the temperature must be a number > 0");
  return nll_at(logits, labels, 1.0 / temperature).value;
}

TemperatureFit fit_temperature(const std::vector<double>& logits, const std::vector<int>& labels,
                               double before) {
  check(logits, labels);
  bool pos = false, neg = false;
  for (int v : labels) (v ? pos : neg) = true;
  if (!pos || !neg)
    throw Error("temperature scaling needs both classes in the fitting data; only " +
                std::string(pos ? "abnormal" : "normal") + " items were given");
  TemperatureFit fit;
  fit.nll_before = temperature_nll(logits, labels, before);
  // The slope in b is increasing (convexity): bracket its zero in [1/Tmax, 1/Tmin].
  double lo = 1.0 / kMaxTemperature, hi = 1.0 / kMinTemperature, b;
  if (nll_at(logits, labels, lo).slope >= 0) {
    b = lo;
    fit.at_bound = true;
  } else if (nll_at(logits, labels, hi).slope <= 0) {
    b = hi;
    fit.at_bound = true;
  } else {
    b = 1.0;
    for (fit.iterations = 1; fit.iterations <= 200; ++fit.iterations) {
      const Nll f = nll_at(logits, labels, b);
      (f.slope > 0 ? hi : lo) = b;
      double next = f.curvature > 0 ? b - f.slope / f.curvature : 0.5 * (lo + hi);
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);  // Newton left the bracket
      const bool done = std::fabs(next - b) <= 1e-12 * std::max(1.0, b) || hi - lo <= 1e-14 * hi;
      b = next;
      if (done) break;
    }
  }
  fit.temperature = 1.0 / b;
  fit.nll_after = nll_at(logits, labels, b).value;
  return fit;
}

}  // namespace mura::eval
