// Reliability bins and ECE: a hand-computed case, sklearn's bin edges, and bad input.
#include "mura/eval/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::eval {
namespace {

TEST(Calibration, HandComputedBinsAndEce) {
  //   p      label  bin
  //   0.05   0      0
  //   0.15   0      1
  //   0.15   1      1
  //   0.85   1      8
  //   0.95   1      9
  //   1.00   1      9   (the last bin holds 1.0)
  const std::vector<int> y = {0, 0, 1, 1, 1, 1};
  const std::vector<double> p = {0.05, 0.15, 0.15, 0.85, 0.95, 1.0};
  const auto c = calibration(y, p, 10);
  ASSERT_EQ(c.bins.size(), 10u);
  EXPECT_EQ(c.n, 6u);
  EXPECT_EQ(c.bins[0].count, 1u);
  EXPECT_EQ(c.bins[1].count, 2u);
  EXPECT_EQ(c.bins[8].count, 1u);
  EXPECT_EQ(c.bins[9].count, 2u);
  std::size_t total = 0;
  for (const auto& b : c.bins) total += b.count;
  EXPECT_EQ(total, 6u);
  EXPECT_DOUBLE_EQ(c.bins[1].mean_probability, 0.15);
  EXPECT_DOUBLE_EQ(c.bins[1].observed_rate, 0.5);
  EXPECT_DOUBLE_EQ(c.bins[9].mean_probability, 0.975);
  EXPECT_TRUE(std::isnan(c.bins[4].mean_probability)) << "empty bins have no mean";
  EXPECT_TRUE(std::isnan(c.bins[4].observed_rate));
  // ECE = (1 * 0.05 + 2 * 0.35 + 1 * 0.15 + 2 * 0.025) / 6 = 0.95 / 6
  EXPECT_NEAR(c.ece, 0.95 / 6.0, 1e-15);
  EXPECT_DOUBLE_EQ(c.bins[3].lower, 3 * 0.1);
  EXPECT_EQ(c.bins[9].upper, 1.0);
}

TEST(Calibration, BinEdgesAreNumpyLinspaceWithSearchsortedRight) {
  // numpy.linspace(0, 1, 11)[3] is 0.30000000000000004, so sklearn puts 0.3 in bin 2;
  // 0.2 and 0.1 are edges exactly and open their bins (side="right").
  const auto c = calibration({0, 0, 0, 0}, {0.3, 0.2, 0.1, 0.0}, 10);
  EXPECT_EQ(c.bins[2].count, 2u) << "0.3 and 0.2";
  EXPECT_EQ(c.bins[1].count, 1u) << "0.1";
  EXPECT_EQ(c.bins[0].count, 1u) << "0.0";
  EXPECT_EQ(c.bins[3].count, 0u);
}

TEST(Calibration, CalibratedPredictionsHaveZeroEceAndConfidentMistakesOne) {
  // Four at 0.25 with one abnormal, four at 0.75 with three abnormal.
  const auto good =
      calibration({1, 0, 0, 0, 1, 1, 1, 0}, {0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75}, 10);
  EXPECT_NEAR(good.ece, 0.0, 1e-15);
  const auto bad = calibration({0, 0, 1, 1}, {1.0, 1.0, 0.0, 0.0}, 5);
  EXPECT_DOUBLE_EQ(bad.ece, 1.0);
  EXPECT_EQ(bad.bins.size(), 5u);
}

TEST(Calibration, BadInputIsAnErrorNamingIt) {
  using test::error_message;
  EXPECT_EQ(error_message([] {
              calibration({0, 1}, {0.5});
            }),
            "calibration: 2 labels but 1 probabilities");
  EXPECT_EQ(error_message([] { calibration({}, {}); }), "calibration: no items");
  EXPECT_ERROR_CONTAINS(calibration({0, 1}, {0.5, 1.5}), "at index 1 is not in [0, 1]");
  EXPECT_ERROR_CONTAINS(calibration({0, 1}, {0.5, std::nan("")}), "at index 1");
  EXPECT_ERROR_CONTAINS(calibration({0, 2}, {0.5, 0.5}), "label 2 at index 1");
  EXPECT_EQ(error_message([] { calibration({0}, {0.5}, 0); }),
            "calibration: n_bins must be at least 1");
}

}  // namespace
}  // namespace mura::eval
