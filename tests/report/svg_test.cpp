// The SVG charts: scales, ticks, paths that follow the data, markers, bad input.
#include "mura/report/svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "../test_util.h"
#include "mura/eval/metrics.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"
#include "page_check.h"

namespace mura::report {
namespace {

using test::contains;
using test::count_of;

/// The d attribute of the first series path named `name`, as (x, y) pixel pairs per
/// subpath ("M" starts a new one).
std::vector<std::vector<std::pair<double, double>>> path_points(const std::string& svg,
                                                                const std::string& name) {
  const auto at = svg.find("data-series=\"" + name + "\"");
  EXPECT_NE(at, std::string::npos) << name;
  const auto d0 = svg.find("d=\"", at) + 3;
  const std::string d = svg.substr(d0, svg.find('"', d0) - d0);
  std::vector<std::vector<std::pair<double, double>>> out;
  std::istringstream in(d);
  std::string cmd;
  while (in >> cmd) {
    const char c = cmd[0];
    const double x = std::stod(cmd.substr(1));
    double y = 0;
    in >> y;
    if (c == 'M') out.emplace_back();
    out.back().emplace_back(x, y);
  }
  return out;
}

TEST(Svg, ScalesAreMonotoneAndHitTheirEnds) {
  const Scale x{0.0, 1.0, 50.0, 350.0, false};
  EXPECT_DOUBLE_EQ(x(0.0), 50.0);
  EXPECT_DOUBLE_EQ(x(1.0), 350.0);
  EXPECT_DOUBLE_EQ(x(0.5), 200.0);
  const Scale y{0.0, 1.0, 280.0, 30.0, false};  // SVG y grows downwards
  double last = 1e9;
  for (int i = 0; i <= 100; ++i) {
    const double v = y(i / 100.0);
    EXPECT_LT(v, last);
    last = v;
  }
  const Scale lg{1e-5, 1e-1, 0.0, 400.0, true};
  EXPECT_NEAR(lg(1e-3), 200.0, 1e-9);
  EXPECT_NEAR(lg(1e-5), 0.0, 1e-9);
}

TEST(Svg, NiceTicksAreRoundIncreasingAndInsideTheRange) {
  const auto t = nice_ticks(0.0, 1.0, 5);
  ASSERT_EQ(t.size(), 6u);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], 0.2 * static_cast<double>(i), 1e-12);
  Rng rng(3);
  for (int k = 0; k < 200; ++k) {
    const double lo = rng.uniform(-50, 50), hi = lo + rng.uniform(0.001, 100);
    const auto ticks = nice_ticks(lo, hi, 5);
    ASSERT_GE(ticks.size(), 2u) << lo << " " << hi;
    ASSERT_LE(ticks.size(), 12u) << lo << " " << hi;
    for (std::size_t i = 0; i < ticks.size(); ++i) {
      EXPECT_GE(ticks[i], lo - 1e-9 * (hi - lo));
      EXPECT_LE(ticks[i], hi + 1e-9 * (hi - lo));
      if (i) {
        EXPECT_GT(ticks[i], ticks[i - 1]);
      }
    }
    const double step = ticks[1] - ticks[0];
    const double mant = step / std::pow(10.0, std::floor(std::log10(step) + 1e-12));
    EXPECT_TRUE(std::fabs(mant - 1) < 1e-6 || std::fabs(mant - 2) < 1e-6 ||
                std::fabs(mant - 5) < 1e-6)
        << step;
  }
  EXPECT_EQ(nice_ticks(3.0, 3.0).size(), 1u);
  const auto lt = log_ticks(1e-4, 1.5e-2);
  ASSERT_EQ(lt.size(), 3u);
  EXPECT_DOUBLE_EQ(lt[0], 1e-4);
  EXPECT_DOUBLE_EQ(lt[2], 1e-2);
}

TEST(Svg, RocPathFollowsTheCurveMonotonically) {
  Rng rng(11);
  std::vector<int> y;
  std::vector<double> s;
  for (int i = 0; i < 300; ++i) {
    y.push_back(rng.bernoulli(0.4) ? 1 : 0);
    s.push_back(std::round((0.3 * y.back() + 0.7 * rng.uniform()) * 100) / 100);
  }
  const auto roc = eval::roc_curve(y, s);
  ChartOptions o;
  o.id = "roc";
  o.title = "ROC";
  o.x = {"FPR", 0, 1, false};
  o.y = {"TPR", 0, 1, false};
  o.diagonal = true;
  const std::string svg =
      line_chart(o, {{"study", roc.fpr, roc.tpr}}, {{0.3, 0.7, "threshold 0.50"}});
  EXPECT_EQ(svg.rfind("<svg class=\"chart\" id=\"roc\"", 0), 0u) << svg.substr(0, 80);
  EXPECT_EQ(count_of(svg, "<svg"), count_of(svg, "</svg>"));
  const auto pts = path_points(svg, "study");
  ASSERT_EQ(pts.size(), 1u) << "one unbroken line";
  ASSERT_EQ(pts[0].size(), roc.fpr.size());
  for (std::size_t i = 1; i < pts[0].size(); ++i) {
    EXPECT_GE(pts[0][i].first, pts[0][i - 1].first) << "x (FPR) never goes back";
    EXPECT_LE(pts[0][i].second, pts[0][i - 1].second)
        << "y (TPR) never goes down (SVG y is inverted)";
  }
  // (0, 0) at the plot's bottom-left, (1, 1) at its top-right.
  EXPECT_LT(pts[0].front().first, pts[0].back().first);
  EXPECT_GT(pts[0].front().second, pts[0].back().second);
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 1u);
  EXPECT_EQ(count_of(svg, "class=\"diagonal\""), 1u);
  EXPECT_TRUE(contains(svg, "threshold 0.50"));
}

TEST(Svg, NanBreaksTheLineStepsAddCornersAndNamesAreEscaped) {
  ChartOptions o;
  o.id = "t";
  o.title = "loss <&>";
  Series a{"train <loss>", {1, 2, 3, 4, 5}, {1.0, 0.8, std::nan(""), 0.5, 0.4}};
  a.points = true;
  const std::string svg = line_chart(o, {a});
  EXPECT_FALSE(contains(svg, "<loss>"));
  EXPECT_TRUE(contains(svg, "train &lt;loss&gt;"));
  EXPECT_TRUE(contains(svg, "loss &lt;&amp;&gt;"));
  const auto pts = path_points(svg, "train &lt;loss&gt;");
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[0].size(), 2u);
  EXPECT_EQ(pts[1].size(), 2u);
  EXPECT_EQ(count_of(svg, "r=\"2.5\""), 4u) << "a dot per finite point";

  Series st{"pr", {1.0, 0.5, 0.0}, {0.5, 0.8, 1.0}};
  st.steps = true;
  const auto sp = path_points(line_chart(o, {st}), "pr");
  ASSERT_EQ(sp[0].size(), 5u) << "steps-post: two corners per step";
  EXPECT_DOUBLE_EQ(sp[0][1].second, sp[0][0].second) << "horizontal first";
  EXPECT_DOUBLE_EQ(sp[0][2].first, sp[0][1].first) << "then vertical";
}

TEST(Svg, BadInputIsAnError) {
  ChartOptions o;
  o.id = "bad";
  EXPECT_THROW(line_chart(o, {{"s", {1, 2}, {1}}}), Error);
  EXPECT_THROW(line_chart(o, {{"s", {std::nan("")}, {std::nan("")}}}), Error)
      << "nothing finite, no fixed axes";
  o.x = {"x", 0, 1, false};
  o.y = {"y", 0, 1, false};
  EXPECT_NO_THROW(line_chart(o, {{"s", {std::nan("")}, {std::nan("")}}}))
      << "fixed axes: an empty plot is fine";
  o.width = 50;
  EXPECT_THROW(line_chart(o, {{"s", {0, 1}, {0, 1}}}), Error);
}

TEST(Svg, ReliabilityBarsMatchTheBins) {
  const auto c = eval::calibration({0, 0, 1, 1, 1, 1}, {0.05, 0.15, 0.15, 0.85, 0.95, 1.0}, 10);
  ChartOptions o;
  o.id = "cal";
  o.title = "Reliability";
  const std::string svg = reliability_chart(o, c.bins);
  const auto bars =
      svg.substr(svg.find("<g class=\"bars\">"),
                 svg.find("</g>", svg.find("<g class=\"bars\">")) - svg.find("<g class=\"bars\">"));
  EXPECT_EQ(count_of(bars, "<rect"), 3u)
      << "bins 1, 8, 9 have a non-zero observed rate; bin 0's is 0 (a flat bar)";
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 4u) << "a dot per non-empty bin";
  EXPECT_EQ(count_of(svg, "class=\"diagonal\""), 1u);
}

}  // namespace
}  // namespace mura::report
