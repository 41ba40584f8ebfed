#include "mura/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "mura/report/html.h"
#include "mura/util/error.h"

namespace mura::report {
namespace {

// Plot area margins, in pixels.
constexpr double kLeft = 54, kRight = 14, kTop = 30, kBottom = 42;

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v, double step, bool log) {
  char buf[32];
  if (log) {
    std::snprintf(buf, sizeof buf, "%g", v);
  } else {
    const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 8);
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (std::string(buf) == "-0") return "0";
  }
  return buf;
}

/// The data range of one axis: fixed ends where given, else the finite data padded by 5%.
void resolve_range(const Axis& axis, std::vector<double> values, double& lo, double& hi) {
  double dlo = std::numeric_limits<double>::infinity(), dhi = -dlo;
  for (const double v : values)
    if (std::isfinite(v) && (!axis.log || v > 0)) {
      dlo = std::min(dlo, v);
      dhi = std::max(dhi, v);
    }
  const bool have_data = dlo <= dhi;
  if (!have_data && (std::isnan(axis.min) || std::isnan(axis.max)))
    throw Error("chart: no finite values to plot on the " +
                (axis.label.empty() ? std::string("axis") : axis.label) + " axis");
  lo = std::isnan(axis.min) ? dlo : axis.min;
  hi = std::isnan(axis.max) ? dhi : axis.max;
  if (axis.log) {
    double llo = std::log10(lo), lhi = std::log10(hi);
    if (llo == lhi) {
      llo -= 0.5;
      lhi += 0.5;
    } else {
      const double pad = 0.05 * (lhi - llo);
      if (std::isnan(axis.min)) llo -= pad;
      if (std::isnan(axis.max)) lhi += pad;
    }
    lo = std::pow(10.0, llo);
    hi = std::pow(10.0, lhi);
    return;
  }
  if (lo == hi) {
    const double d = lo == 0 ? 1.0 : 0.5 * std::fabs(lo);
    lo -= d;
    hi += d;
    return;
  }
  const double pad = 0.05 * (hi - lo);
  if (std::isnan(axis.min)) lo -= pad;
  if (std::isnan(axis.max)) hi += pad;
}

struct Frame {
  ChartOptions o;
  Scale sx, sy;
  double x0() const { return kLeft; }
  double x1() const { return o.width - kRight; }
  double y0() const { return o.height - kBottom; }  // bottom of the plot area
  double y1() const { return kTop; }                // top
};

Frame make_frame(const ChartOptions& o, double xlo, double xhi, double ylo, double yhi) {
  if (o.width < 120 || o.height < 100) throw Error("chart '" + o.id + "': at least 120 x 100 px");
  Frame f{o, {}, {}};
  f.sx = {xlo, xhi, f.x0(), f.x1(), o.x.log};
  f.sy = {ylo, yhi, f.y0(), f.y1(), o.y.log};
  return f;
}

void open_svg(std::ostringstream& s, const Frame& f) {
  const auto& o = f.o;
  s << "<svg class=\"chart\" id=\"" << html_escape(o.id)
    << "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << o.width << " " << o.height
    << "\" width=\"" << o.width << "\" height=\"" << o.height
    << "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">";
  s << "<title>" << html_escape(o.title) << "</title>";
  s << "<rect x=\"0\" y=\"0\" width=\"" << o.width << "\" height=\"" << o.height
    << "\" fill=\"#fff\"/>";
  s << "<text x=\"" << px(o.width / 2.0)
    << "\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">"
    << html_escape(o.title) << "</text>";
}

void axes(std::ostringstream& s, const Frame& f) {
  const auto& o = f.o;
  // Ticks and grid.
  const auto xt = o.x.log ? log_ticks(f.sx.lo, f.sx.hi) : nice_ticks(f.sx.lo, f.sx.hi, 5);
  const auto yt = o.y.log ? log_ticks(f.sy.lo, f.sy.hi) : nice_ticks(f.sy.lo, f.sy.hi, 5);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  s << "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">";
  for (const double t : xt)
    s << "<line x1=\"" << px(f.sx(t)) << "\" y1=\"" << px(f.y0()) << "\" x2=\"" << px(f.sx(t))
      << "\" y2=\"" << px(f.y1()) << "\"/>";
  for (const double t : yt)
    s << "<line x1=\"" << px(f.x0()) << "\" y1=\"" << px(f.sy(t)) << "\" x2=\"" << px(f.x1())
      << "\" y2=\"" << px(f.sy(t)) << "\"/>";
  s << "</g>";
  s << "<g class=\"ticks\" fill=\"#444\">";
  for (const double t : xt)
    s << "<text x=\"" << px(f.sx(t)) << "\" y=\"" << px(f.y0() + 14) << "\" text-anchor=\"middle\">"
      << tick_label(t, xstep, o.x.log) << "</text>";
  for (const double t : yt)
    s << "<text x=\"" << px(f.x0() - 5) << "\" y=\"" << px(f.sy(t) + 4) << "\" text-anchor=\"end\">"
      << tick_label(t, ystep, o.y.log) << "</text>";
  s << "</g>";
  s << "<rect x=\"" << px(f.x0()) << "\" y=\"" << px(f.y1()) << "\" width=\"" << px(f.x1() - f.x0())
    << "\" height=\"" << px(f.y0() - f.y1()) << "\" fill=\"none\" stroke=\"#888\"/>";
  s << "<text x=\"" << px((f.x0() + f.x1()) / 2) << "\" y=\"" << px(o.height - 8.0)
    << "\" text-anchor=\"middle\" fill=\"#222\">" << html_escape(o.x.label) << "</text>";
  const double ymid = (f.y0() + f.y1()) / 2;
  s << "<text x=\"13\" y=\"" << px(ymid)
    << "\" text-anchor=\"middle\" fill=\"#222\" transform=\"rotate(-90 13 " << px(ymid) << ")\">"
    << html_escape(o.y.label) << "</text>";
}

void diagonal(std::ostringstream& s, const Frame& f) {
  const double lo = std::max(f.sx.lo, f.sy.lo), hi = std::min(f.sx.hi, f.sy.hi);
  if (!(lo < hi)) return;
  s << "<line class=\"diagonal\" x1=\"" << px(f.sx(lo)) << "\" y1=\"" << px(f.sy(lo)) << "\" x2=\""
    << px(f.sx(hi)) << "\" y2=\"" << px(f.sy(hi))
    << "\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>";
}

void legend(std::ostringstream& s, const Frame& f,
            const std::vector<std::pair<std::string, std::string>>& items,
            const std::vector<bool>& dashed) {
  if (items.empty()) return;
  std::size_t longest = 0;
  for (const auto& it : items) longest = std::max(longest, it.first.size());
  const double w = 30 + 6.2 * static_cast<double>(longest),
               h = 6 + 15.0 * static_cast<double>(items.size());
  const bool left = f.o.legend == LegendAt::TopLeft || f.o.legend == LegendAt::BottomLeft;
  const bool top = f.o.legend == LegendAt::TopLeft || f.o.legend == LegendAt::TopRight;
  const double x = left ? f.x0() + 6 : f.x1() - 6 - w;
  const double y = top ? f.y1() + 6 : f.y0() - 6 - h;
  s << "<g class=\"legend\"><rect x=\"" << px(x) << "\" y=\"" << px(y) << "\" width=\"" << px(w)
    << "\" height=\"" << px(h) << "\" fill=\"#fff\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const double ly = y + 13 + 15.0 * static_cast<double>(i);
    s << "<line x1=\"" << px(x + 5) << "\" y1=\"" << px(ly - 4) << "\" x2=\"" << px(x + 23)
      << "\" y2=\"" << px(ly - 4) << "\" stroke=\"" << html_escape(items[i].second)
      << "\" stroke-width=\"2\"" << (dashed[i] ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    s << "<text x=\"" << px(x + 27) << "\" y=\"" << px(ly) << "\">" << html_escape(items[i].first)
      << "</text>";
  }
  s << "</g>";
}

std::string path_of(const Frame& f, const Series& se) {
  std::string d;
  bool pen_down = false;
  double last_y = 0;
  for (std::size_t i = 0; i < se.x.size(); ++i) {
    const double x = se.x[i], y = se.y[i];
    const bool ok =
        std::isfinite(x) && std::isfinite(y) && (!f.o.x.log || x > 0) && (!f.o.y.log || y > 0);
    if (!ok) {
      pen_down = false;
      continue;
    }
    const double X = f.sx(x), Y = f.sy(y);
    if (!pen_down) {
      d += (d.empty() ? "M" : " M") + px(X) + " " + px(Y);
      pen_down = true;
    } else if (se.steps) {
      d += " L" + px(X) + " " + px(last_y) + " L" + px(X) + " " + px(Y);
    } else {
      d += " L" + px(X) + " " + px(Y);
    }
    last_y = Y;
  }
  return d;
}

}  // namespace

double Scale::operator()(double v) const {
  const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
  const double t = ((log ? std::log10(v) : v) - a) / (b - a);
  return px_lo + t * (px_hi - px_lo);
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(std::isfinite(lo) && std::isfinite(hi))) return {};
  if (hi < lo) std::swap(lo, hi);
  if (lo == hi) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first; k * step <= hi + step * 1e-9; k += 1.0) {
    const double t = k * step;
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  if (!(lo > 0 && hi > lo)) return nice_ticks(lo, hi);
  for (double e = std::ceil(std::log10(lo) - 1e-9); e <= std::log10(hi) + 1e-9; e += 1.0)
    ticks.push_back(std::pow(10.0, e));
  if (ticks.size() < 2) return nice_ticks(lo, hi, 4);
  return ticks;
}

std::string line_chart(const ChartOptions& o, const std::vector<Series>& series,
                       const std::vector<Marker>& markers) {
  std::vector<double> xs, ys;
  for (const auto& se : series) {
    if (se.x.size() != se.y.size())
      throw Error("chart '" + o.id + "': series '" + se.name + "' has " +
                  std::to_string(se.x.size()) + " x but " + std::to_string(se.y.size()) +
                  " y values");
    xs.insert(xs.end(), se.x.begin(), se.x.end());
    ys.insert(ys.end(), se.y.begin(), se.y.end());
  }
  for (const auto& m : markers) {
    xs.push_back(m.x);
    ys.push_back(m.y);
  }
  double xlo, xhi, ylo, yhi;
  resolve_range(o.x, xs, xlo, xhi);
  resolve_range(o.y, ys, ylo, yhi);
  const Frame f = make_frame(o, xlo, xhi, ylo, yhi);

  std::ostringstream s;
  open_svg(s, f);
  axes(s, f);
  if (o.diagonal) diagonal(s, f);
  s << "<g class=\"plot\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\">";
  for (const auto& se : series) {
    const std::string d = path_of(f, se);
    if (d.empty()) continue;
    s << "<path class=\"series\" data-series=\"" << html_escape(se.name) << "\" d=\"" << d
      << "\" stroke=\"" << html_escape(se.color) << "\""
      << (se.dashed ? " stroke-dasharray=\"5 3\"" : "") << "/>";
  }
  s << "</g>";
  for (const auto& se : series) {
    if (!se.points) continue;
    s << "<g fill=\"" << html_escape(se.color) << "\">";
    for (std::size_t i = 0; i < se.x.size(); ++i)
      if (std::isfinite(se.x[i]) && std::isfinite(se.y[i]) && (!o.x.log || se.x[i] > 0) &&
          (!o.y.log || se.y[i] > 0))
        s << "<circle cx=\"" << px(f.sx(se.x[i])) << "\" cy=\"" << px(f.sy(se.y[i]))
          << "\" r=\"2.5\"/>";
    s << "</g>";
  }
  for (const auto& m : markers) {
    if (!std::isfinite(m.x) || !std::isfinite(m.y)) continue;
    const double X = f.sx(m.x), Y = f.sy(m.y);
    s << "<circle class=\"marker\" cx=\"" << px(X) << "\" cy=\"" << px(Y) << "\" r=\"5\" fill=\""
      << html_escape(m.color) << "\" stroke=\"#fff\" stroke-width=\"1.5\"><title>"
      << html_escape(m.label) << "</title></circle>";
    const bool right_half = X > (f.x0() + f.x1()) / 2;
    s << "<text x=\"" << px(right_half ? X - 8 : X + 8) << "\" y=\""
      << px(Y < f.y1() + 14 ? Y + 16 : Y - 8) << "\" text-anchor=\""
      << (right_half ? "end" : "start") << "\" fill=\"" << html_escape(m.color) << "\">"
      << html_escape(m.label) << "</text>";
  }
  std::vector<std::pair<std::string, std::string>> items;
  std::vector<bool> dashed;
  for (const auto& se : series)
    if (!se.name.empty()) {
      items.emplace_back(se.name, se.color);
      dashed.push_back(se.dashed);
    }
  legend(s, f, items, dashed);
  s << "</svg>";
  return s.str();
}

std::string reliability_chart(const ChartOptions& options,
                              const std::vector<eval::CalibrationBin>& bins) {
  ChartOptions o = options;
  o.x.min = 0;
  o.x.max = 1;
  o.y.min = 0;
  o.y.max = 1;
  o.x.log = o.y.log = false;
  const Frame f = make_frame(o, 0, 1, 0, 1);
  std::size_t most = 0;
  for (const auto& b : bins) most = std::max(most, b.count);

  std::ostringstream s;
  open_svg(s, f);
  axes(s, f);
  s << "<g class=\"bars\">";
  for (const auto& b : bins) {
    if (b.count == 0 || !(b.observed_rate > 0))
      continue;  // nothing to draw; the dot still shows the bin
    const double x = f.sx(b.lower) + 1, w = f.sx(b.upper) - f.sx(b.lower) - 2;
    const double top = f.sy(b.observed_rate);
    s << "<rect x=\"" << px(x) << "\" y=\"" << px(top) << "\" width=\"" << px(w) << "\" height=\""
      << px(f.y0() - top) << "\" fill=\"#9ecae1\" stroke=\"#3182bd\"><title>" << fixed(b.lower, 1)
      << "-" << fixed(b.upper, 1) << ": " << b.count << " items, mean probability "
      << fixed(b.mean_probability, 3) << ", observed rate " << fixed(b.observed_rate, 3)
      << "</title></rect>";
  }
  s << "</g>";
  // Counts as a thin histogram along the bottom (up to 12% of the plot's height).
  s << "<g class=\"counts\" fill=\"#636363\" fill-opacity=\"0.5\">";
  for (const auto& b : bins) {
    if (b.count == 0 || most == 0) continue;
    const double h =
        0.12 * (f.y0() - f.y1()) * static_cast<double>(b.count) / static_cast<double>(most);
    const double x = f.sx(b.lower) + 4, w = f.sx(b.upper) - f.sx(b.lower) - 8;
    s << "<rect x=\"" << px(x) << "\" y=\"" << px(f.y0() - h) << "\" width=\"" << px(w)
      << "\" height=\"" << px(h) << "\"/>";
  }
  s << "</g>";
  diagonal(s, f);
  s << "<g class=\"plot\" fill=\"#08519c\">";
  for (const auto& b : bins)
    if (b.count > 0 && std::isfinite(b.mean_probability) && std::isfinite(b.observed_rate))
      s << "<circle class=\"marker\" cx=\"" << px(f.sx(b.mean_probability)) << "\" cy=\""
        << px(f.sy(b.observed_rate)) << "\" r=\"3.5\"/>";
  s << "</g>";
  s << "</svg>";
  return s.str();
}

}  // namespace mura::report
