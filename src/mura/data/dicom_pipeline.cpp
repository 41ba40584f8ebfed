#include "mura/data/dicom_pipeline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data::dicom {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": DICOM: " + what);
}

double apply_lut(const Lut& lut, double x) {
  const double idx = std::floor(x) - static_cast<double>(lut.first_mapped);
  const double last = static_cast<double>(lut.data.size() - 1);
  const std::size_t i = idx <= 0 ? 0 : static_cast<std::size_t>(std::min(idx, last));
  return lut.data[i];
}

/// The VOI step chosen for one file; maps a modality value to [0, 255].
struct Voi {
  enum class Kind { Window, Lut, MinMax } kind = Kind::MinMax;
  Window window;
  VoiFunction function = VoiFunction::Linear;
  const Lut* lut = nullptr;
  double lo = 0, hi = 0;  // min/max of the modality values (MinMax)

  double operator()(double x) const {
    constexpr double ymin = 0.0, ymax = 255.0;
    switch (kind) {
      case Kind::Window: {
        const double c = window.center, w = window.width;
        if (function == VoiFunction::Sigmoid)
          return (ymax - ymin) / (1.0 + std::exp(-4.0 * (x - c) / w)) + ymin;
        if (function == VoiFunction::LinearExact) {
          if (x <= c - w / 2) return ymin;
          if (x > c + w / 2) return ymax;
          return ((x - c) / w + 0.5) * (ymax - ymin) + ymin;
        }
        // LINEAR (PS3.3 C.11.2.1.2.1)
        if (x <= c - 0.5 - (w - 1) / 2) return ymin;
        if (x > c - 0.5 + (w - 1) / 2) return ymax;
        return ((x - (c - 0.5)) / (w - 1) + 0.5) * (ymax - ymin) + ymin;
      }
      case Kind::Lut: {
        const double top = std::ldexp(1.0, lut->bits) - 1.0;
        return apply_lut(*lut, x) / top * ymax;
      }
      case Kind::MinMax:
        if (hi <= lo) return ymin;
        return (x - lo) / (hi - lo) * (ymax - ymin) + ymin;
    }
    return ymin;
  }
};

bool equals_ignore_case(const std::string& a, const std::string& b) {
  return to_lower(std::string(trim(a))) == to_lower(std::string(trim(b)));
}

Voi choose_voi(const PixelInput& in, const VoiChoice& choice, const std::string& name) {
  Voi v;
  v.function = in.voi_function;
  auto use_window = [&](const Window& w) {
    v.kind = Voi::Kind::Window;
    v.window = w;
    const bool linear = in.voi_function == VoiFunction::Linear;
    if (!(linear ? w.width >= 1.0 : w.width > 0.0))
      fail(name, std::string("Window Width (0028,1051) must be ") + (linear ? ">= 1" : "> 0") +
                     " for VOI LUT Function " +
                     (linear                                    ? "LINEAR"
                      : in.voi_function == VoiFunction::Sigmoid ? "SIGMOID"
                                                                : "LINEAR_EXACT") +
                     ", got " + std::to_string(w.width));
  };
  auto use_lut = [&](const Lut& l) {
    if (l.data.empty()) fail(name, "VOI LUT Sequence (0028,3010) item has no LUT Data");
    if (l.bits < 1 || l.bits > 16)
      fail(name,
           "VOI LUT Descriptor (0028,3002) bits " + std::to_string(l.bits) + " is outside 1..16");
    v.kind = Voi::Kind::Lut;
    v.lut = &l;
  };
  switch (choice.kind) {
    case VoiChoice::Kind::MinMax:
      v.kind = Voi::Kind::MinMax;
      return v;
    case VoiChoice::Kind::Default:
      if (!in.windows.empty())
        use_window(in.windows[0]);
      else if (!in.voi_luts.empty())
        use_lut(in.voi_luts[0]);
      return v;
    case VoiChoice::Kind::Index: {
      const std::size_t i = choice.index;
      if (!in.windows.empty()) {
        if (i < 1 || i > in.windows.size())
          fail(name, "--dicom-window " + std::to_string(i) + ": the file has " +
                         std::to_string(in.windows.size()) +
                         " window(s) in Window Center/Width (0028,1050/1051)");
        use_window(in.windows[i - 1]);
      } else if (!in.voi_luts.empty()) {
        if (i < 1 || i > in.voi_luts.size())
          fail(name, "--dicom-window " + std::to_string(i) + ": the file has " +
                         std::to_string(in.voi_luts.size()) + " VOI LUT(s) and no window");
        use_lut(in.voi_luts[i - 1]);
      } else {
        fail(name,
             "--dicom-window " + std::to_string(i) + ": the file has no window and no VOI LUT");
      }
      return v;
    }
    case VoiChoice::Kind::Name: {
      for (const auto& w : in.windows)
        if (equals_ignore_case(w.explanation, choice.name)) {
          use_window(w);
          return v;
        }
      for (const auto& l : in.voi_luts)
        if (equals_ignore_case(l.explanation, choice.name)) {
          use_lut(l);
          return v;
        }
      std::vector<std::string> names;
      for (const auto& w : in.windows)
        if (!w.explanation.empty()) names.push_back("'" + w.explanation + "'");
      for (const auto& l : in.voi_luts)
        if (!l.explanation.empty()) names.push_back("'" + l.explanation + "'");
      fail(name, "--dicom-window '" + choice.name +
                     "': no window or VOI LUT with that Explanation" +
                     (names.empty() ? std::string(" (the file names none)")
                                    : " (the file has " + join(names, ", ") + ")"));
    }
  }
  return v;
}

std::uint8_t to_u8(double y, bool invert) {
  if (invert) y = 255.0 - y;
  const double r = std::floor(y + 0.5);
  return static_cast<std::uint8_t>(std::clamp(r, 0.0, 255.0));
}

void check_layout(const PixelInput& in, std::size_t size, const std::string& name) {
  if (in.rows <= 0 || in.cols <= 0)
    fail(name, "Rows (0028,0010) and Columns (0028,0011) must be positive");
  if (in.samples != 1 && in.samples != 3)
    fail(name, "Samples per Pixel (0028,0002) " + std::to_string(in.samples) +
                   " is not supported (1 or 3)");
  if (in.bits_allocated != 8 && in.bits_allocated != 16 && in.bits_allocated != 32)
    fail(name, "Bits Allocated (0028,0100) " + std::to_string(in.bits_allocated) +
                   " is not supported (8, 16 or 32)");
  if (in.bits_stored < 1 || in.bits_stored > in.bits_allocated)
    fail(name, "Bits Stored (0028,0101) " + std::to_string(in.bits_stored) +
                   " does not fit Bits Allocated " + std::to_string(in.bits_allocated));
  if (in.high_bit < in.bits_stored - 1 || in.high_bit >= in.bits_allocated)
    fail(name, "High Bit (0028,0102) " + std::to_string(in.high_bit) +
                   " is impossible for Bits Stored " + std::to_string(in.bits_stored) +
                   " in Bits Allocated " + std::to_string(in.bits_allocated));
  const std::uint64_t need = std::uint64_t(in.rows) * std::uint64_t(in.cols) *
                             std::uint64_t(in.samples) * std::uint64_t(in.bits_allocated / 8);
  const std::uint64_t need422 = std::uint64_t(in.rows) * std::uint64_t(in.cols) * 2;
  const bool ok422 = in.colour == Colour::YbrFull422 && in.bits_allocated == 8 && size >= need422;
  if (size < need && !ok422)
    fail(name, "Pixel Data (7FE0,0010) holds " + std::to_string(size) + " bytes, fewer than the " +
                   std::to_string(need) +
                   " that Rows x Columns x Samples x Bits Allocated need (truncated?)");
}

cv::Mat render_colour(const void* bytes, std::size_t size, const PixelInput& in) {
  const int n = in.rows * in.cols;
  const auto* p8 = static_cast<const std::uint8_t*>(bytes);
  // To 8-bit interleaved three channels first (as the PNG path converts 16-bit first).
  cv::Mat three(in.rows, in.cols, CV_8UC3);
  auto* out = three.ptr<std::uint8_t>();
  if (in.colour == Colour::YbrFull422 && in.bits_allocated == 8 &&
      size < std::size_t(n) * 3) {  // still subsampled: Y1 Y2 Cb Cr per pixel pair
    cv::Mat gray(in.rows, in.cols, CV_8UC1);
    auto* g = gray.ptr<std::uint8_t>();
    for (int i = 0; i < n; ++i) g[i] = p8[(i / 2) * 4 + (i % 2)];
    return gray;
  }
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c) {
      const std::size_t at = in.planar == 1 ? std::size_t(c) * n + i : std::size_t(i) * 3 + c;
      std::uint32_t v;
      if (in.bits_allocated == 8) {
        v = p8[at];
      } else if (in.bits_allocated == 16) {
        std::uint16_t s;
        std::memcpy(&s, p8 + at * 2, 2);
        v = static_cast<std::uint32_t>(cv::saturate_cast<std::uint8_t>(s * (255.0 / 65535.0)));
      } else {
        std::uint32_t s;
        std::memcpy(&s, p8 + at * 4, 4);
        v = static_cast<std::uint32_t>(cv::saturate_cast<std::uint8_t>(s * (255.0 / 4294967295.0)));
      }
      out[std::size_t(i) * 3 + c] = static_cast<std::uint8_t>(v);
    }
  cv::Mat gray;
  if (in.colour == Colour::Rgb) {
    cv::cvtColor(three, gray, cv::COLOR_RGB2GRAY);
  } else {
    cv::extractChannel(three, gray, 0);  // Y of YBR_FULL is the 601 luma
  }
  return gray;
}

}  // namespace

VoiChoice parse_voi_choice(const std::string& text) {
  VoiChoice c;
  const std::string t(trim(text));
  if (t.empty()) return c;
  if (to_lower(t) == "minmax") {
    c.kind = VoiChoice::Kind::MinMax;
    return c;
  }
  if (std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
      t.size() < 6) {
    c.kind = VoiChoice::Kind::Index;
    c.index = std::stoul(t);
    if (c.index == 0) throw Error("--dicom-window 0: windows are numbered from 1");
    return c;
  }
  c.kind = VoiChoice::Kind::Name;
  c.name = t;
  return c;
}

cv::Mat render(const void* bytes, std::size_t size, const PixelInput& in, const VoiChoice& choice,
               const std::string& name) {
  check_layout(in, size, name);
  if (in.samples == 3 || in.colour == Colour::Rgb || in.colour == Colour::YbrFull ||
      in.colour == Colour::YbrFull422) {
    if (in.samples != 3 && in.colour != Colour::YbrFull422)
      fail(name, "a colour Photometric Interpretation with Samples per Pixel " +
                     std::to_string(in.samples));
    return render_colour(bytes, size, in);
  }
  if (in.modality_lut && in.modality_lut->data.empty())
    fail(name, "Modality LUT Sequence (0028,3000) item has no LUT Data");

  const int shift = in.high_bit + 1 - in.bits_stored;
  const std::uint64_t mask = (in.bits_stored >= 64) ? ~0ULL : ((1ULL << in.bits_stored) - 1);
  auto stored = [&](std::uint64_t container) -> std::int64_t {
    std::uint64_t v = (container >> shift) & mask;
    if (in.is_signed && (v >> (in.bits_stored - 1)) & 1ULL)
      return static_cast<std::int64_t>(v) - (std::int64_t(1) << in.bits_stored);
    return static_cast<std::int64_t>(v);
  };
  std::int64_t pad_lo = 0, pad_hi = -1;
  const bool has_pad = in.padding_value.has_value();
  if (has_pad) {
    pad_lo = pad_hi = *in.padding_value;
    if (in.padding_range) {
      pad_lo = std::min(*in.padding_value, *in.padding_range);
      pad_hi = std::max(*in.padding_value, *in.padding_range);
    }
  }
  auto is_pad = [&](std::int64_t s) { return has_pad && s >= pad_lo && s <= pad_hi; };
  auto modality = [&](std::int64_t s) -> double {
    if (in.modality_lut) return apply_lut(*in.modality_lut, static_cast<double>(s));
    return in.slope * static_cast<double>(s) + in.intercept;
  };
  const bool invert = in.colour == Colour::Monochrome1 || in.presentation_inverse;
  Voi voi = choose_voi(in, choice, name);

  const std::size_t n = std::size_t(in.rows) * std::size_t(in.cols);
  cv::Mat out(in.rows, in.cols, CV_8UC1);
  auto* o = out.ptr<std::uint8_t>();
  const auto* p8 = static_cast<const std::uint8_t*>(bytes);

  if (in.bits_allocated <= 16) {
    // A table over every container value: histogram, min/max over the present non-padding
    // values, then one lookup per pixel.
    const std::size_t values = std::size_t(1) << in.bits_allocated;
    std::vector<std::uint32_t> hist(values, 0);
    auto container = [&](std::size_t i) -> std::uint32_t {
      if (in.bits_allocated == 8) return p8[i];
      std::uint16_t v;
      std::memcpy(&v, p8 + i * 2, 2);
      return v;
    };
    for (std::size_t i = 0; i < n; ++i) ++hist[container(i)];
    if (voi.kind == Voi::Kind::MinMax) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (std::size_t v = 0; v < values; ++v) {
        if (!hist[v]) continue;
        const std::int64_t s = stored(v);
        if (is_pad(s)) continue;
        const double m = modality(s);
        lo = std::min(lo, m);
        hi = std::max(hi, m);
      }
      voi.lo = std::isfinite(lo) ? lo : 0.0;
      voi.hi = std::isfinite(hi) ? hi : 0.0;
    }
    std::vector<std::uint8_t> table(values, 0);
    for (std::size_t v = 0; v < values; ++v) {
      if (!hist[v]) continue;
      const std::int64_t s = stored(v);
      table[v] = is_pad(s) ? 0 : to_u8(voi(modality(s)), invert);
    }
    for (std::size_t i = 0; i < n; ++i) o[i] = table[container(i)];
    return out;
  }
  // 32-bit containers: per pixel.
  std::vector<double> m(n);
  std::vector<std::uint8_t> pad(n, 0);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t c;
    std::memcpy(&c, p8 + i * 4, 4);
    const std::int64_t s = stored(c);
    pad[i] = is_pad(s);
    m[i] = modality(s);
    if (!pad[i]) {
      lo = std::min(lo, m[i]);
      hi = std::max(hi, m[i]);
    }
  }
  voi.lo = std::isfinite(lo) ? lo : 0.0;
  voi.hi = std::isfinite(hi) ? hi : 0.0;
  for (std::size_t i = 0; i < n; ++i) o[i] = pad[i] ? 0 : to_u8(voi(m[i]), invert);
  return out;
}

}  // namespace mura::data::dicom
