#pragma once
/// Charts as inline SVG text, drawn by our own small code so a report needs no scripts,
/// fonts or network to show them: line charts (ROC, precision-recall, training curves) and
/// the reliability diagram. Output is deterministic (coordinates rounded to 0.1 px).
///
/// Every chart is one <svg class="chart" id=ID viewBox="0 0 W H" width=W height=H> with a
/// <title>; the plotted series are <path class="series" data-series=NAME>, markers
/// <circle class="marker">, so tests and the page's own check can find them.
#include <limits>
#include <string>
#include <vector>

#include "mura/eval/calibration.h"

namespace mura::report {

/// A map from data values to pixels: [lo, hi] -> [px_lo, px_hi], linear or log10.
/// Strictly monotone when lo < hi and px_lo != px_hi (increasing when px_lo < px_hi).
struct Scale {
  double lo = 0.0, hi = 1.0;
  double px_lo = 0.0, px_hi = 1.0;
  bool log = false;  ///< log10 axis; lo and hi must then be > 0
  double operator()(double value) const;
};

/// About `count` "nice" tick values (steps of 1, 2 or 5 times a power of ten) inside
/// [lo, hi], increasing. lo == hi gives {lo}.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);
/// Powers of ten inside [lo, hi] (lo > 0); when there are fewer than two, nice_ticks instead.
std::vector<double> log_ticks(double lo, double hi);

/// One curve. NaN in x or y breaks the line there (e.g. epochs without validation).
struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool dashed = false;
  bool steps = false;   ///< steps-post: horizontal to the next x, then vertical
  bool points = false;  ///< also a dot at every point
};

/// A labelled point, e.g. the operating point at the decision threshold.
struct Marker {
  double x = 0.0, y = 0.0;
  std::string label;
  std::string color = "#d62728";
};

struct Axis {
  std::string label;
  double min = std::numeric_limits<double>::quiet_NaN();  ///< NaN: from the data, padded
  double max = std::numeric_limits<double>::quiet_NaN();
  bool log = false;
};

enum class LegendAt { TopLeft, TopRight, BottomLeft, BottomRight };

struct ChartOptions {
  std::string id;     ///< element id (unique in the page)
  std::string title;  ///< drawn above the plot, also the SVG's <title>
  int width = 380;
  int height = 320;
  Axis x, y;
  bool diagonal = false;  ///< the dashed line y = x (chance for ROC, perfect calibration)
  LegendAt legend = LegendAt::BottomRight;
};

/// A line chart of the series, with axes, ticks, grid, legend and markers.
/// Throws mura::Error when a series' x and y differ in size or nothing is finite to plot.
std::string line_chart(const ChartOptions& options, const std::vector<Series>& series,
                       const std::vector<Marker>& markers = {});

/// The reliability diagram: per bin a bar of the observed abnormal rate over the bin's
/// probability range, a dot at (mean probability, observed rate), the diagonal of perfect
/// calibration, and the bin counts as a histogram strip along the bottom. Axes are [0, 1];
/// no legend (the bars may fill any corner): the page's caption explains the marks.
std::string reliability_chart(const ChartOptions& options,
                              const std::vector<eval::CalibrationBin>& bins);

}  // namespace mura::report
