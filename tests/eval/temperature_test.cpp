// Temperature scaling (eval/temperature.h): the fitted T equals an independent Python
// reference (scipy's bounded search on log T, tests/reference/temperature_reference.py)
// within 1e-3, it lowers NLL and ECE of deliberately over-confident logits, and bad input is
// an error naming what is wrong.
#include "mura/eval/temperature.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "../test_util.h"
#include "mura/eval/calibration.h"

namespace mura::eval {
namespace {

struct Case {
  std::vector<double> logits;
  std::vector<int> labels;
};

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

/// Labels drawn from a calibrated model's probabilities sigmoid(z), logits reported as
/// z * scale: scale > 1 is an over-confident model (its fitted T is about `scale`).
Case make_case(std::size_t n, double scale, unsigned seed, double shift = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> z(shift, 2.0);
  std::uniform_real_distribution<double> u(0, 1);
  Case c;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = z(rng);
    c.labels.push_back(u(rng) < sigmoid(v) ? 1 : 0);
    c.logits.push_back(v * scale);
  }
  return c;
}

std::vector<double> probabilities(const std::vector<double>& d, double t) {
  std::vector<double> p;
  for (double v : d) p.push_back(sigmoid(v / t));
  return p;
}

TEST(Temperature, FittedTemperatureEqualsThePythonReference) {
  std::vector<Case> cases = {make_case(400, 4.0, 1),  make_case(400, 0.4, 2),
                             make_case(1000, 1.0, 3), make_case(60, 2.5, 4, 1.0),
                             make_case(3000, 7.0, 5), make_case(200, 1.7, 6, -1.5)};
  // a 2-output model's logits enter as l1 - l0: the same fit
  cases.push_back({{-3.0, -1.0, 0.5, 2.0, 4.0, -0.2, 1.1}, {0, 0, 1, 1, 1, 1, 0}});
  test::TempDir dir;
  nlohmann::json doc;
  for (const auto& c : cases) doc["cases"].push_back({{"logits", c.logits}, {"labels", c.labels}});
  test::write_text(dir / "cases.json", doc.dump());
  const auto r =
      test::run_command(std::string("'") + MURA_PYTHON + "' '" + MURA_SOURCE_DIR +
                        "/tests/reference/temperature_reference.py' '" +
                        (dir / "cases.json").string() + "' '" + (dir / "fits.json").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << "the scipy reference failed (needs python3-scipy): " << r.out;
  std::ifstream f(dir / "fits.json");
  const auto fits = nlohmann::json::parse(f)["fits"];
  ASSERT_EQ(fits.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const TemperatureFit fit = fit_temperature(cases[i].logits, cases[i].labels);
    const double theirs = fits[i]["temperature"];
    EXPECT_NEAR(fit.temperature, theirs, 1e-3);
    EXPECT_FALSE(fit.at_bound);
    EXPECT_NEAR(fit.nll_after, fits[i]["nll"].get<double>(), 1e-9);
    EXPECT_NEAR(fit.nll_before, fits[i]["nll_at_1"].get<double>(), 1e-12);
    // ours is the minimum: no lower NLL at the reference's T
    EXPECT_LE(fit.nll_after, temperature_nll(cases[i].logits, cases[i].labels, theirs) + 1e-15);
  }
}

TEST(Temperature, ScalingLowersNllAndEceOfAnOverConfidentModel) {
  // fitted on one half, measured on the other, as on a validation and a test set
  const Case fit_on = make_case(2000, 5.0, 11), check = make_case(2000, 5.0, 12);
  const TemperatureFit fit = fit_temperature(fit_on.logits, fit_on.labels);
  EXPECT_NEAR(fit.temperature, 5.0, 0.5) << "the logits were 5x too confident";
  EXPECT_LT(fit.nll_after, fit.nll_before);
  const double before = temperature_nll(check.logits, check.labels, 1.0);
  const double after = temperature_nll(check.logits, check.labels, fit.temperature);
  EXPECT_LT(after, before);
  const double ece_before = calibration(check.labels, probabilities(check.logits, 1.0)).ece;
  const double ece_after =
      calibration(check.labels, probabilities(check.logits, fit.temperature)).ece;
  EXPECT_LT(ece_after, 0.5 * ece_before) << ece_before << " -> " << ece_after;
  EXPECT_LT(ece_after, 0.04);
}

TEST(Temperature, SeparableDataEndsAtTheBoundAndSaysSo) {
  const TemperatureFit fit = fit_temperature({-2, -1, 1, 2}, {0, 0, 1, 1});
  EXPECT_TRUE(fit.at_bound);
  EXPECT_DOUBLE_EQ(fit.temperature, kMinTemperature);
  const TemperatureFit flat = fit_temperature({2, 1, -1, -2}, {0, 0, 1, 1});  // wrong way round
  EXPECT_TRUE(flat.at_bound);
  EXPECT_DOUBLE_EQ(flat.temperature, kMaxTemperature);
}

TEST(Temperature, BadInputIsAnErrorNamingIt) {
  EXPECT_ERROR_CONTAINS(fit_temperature({1, 2}, {1}), "2 logits but 1 labels");
  EXPECT_ERROR_CONTAINS(fit_temperature({}, {}), "no items");
  EXPECT_ERROR_CONTAINS(fit_temperature({1, 2}, {0, 2}), "label 2 at index 1");
  EXPECT_ERROR_CONTAINS(fit_temperature({1, NAN}, {0, 1}), "logit at index 1 is not finite");
  EXPECT_ERROR_CONTAINS(fit_temperature({1, 2}, {1, 1}), "both classes", "only abnormal");
  EXPECT_ERROR_CONTAINS(temperature_nll({1, 2}, {0, 1}, 0.0), "must be a number > 0");
}

}  // namespace
}  // namespace mura::eval
