#pragma once
/// The DICOM grayscale pipeline (PS3.4 N.2, PS3.3 C.11), in the standard's order, on decoded
/// stored pixels. It knows nothing about files or GDCM, so it is tested and fuzzed alone.
///
///   1. stored value: the BitsStored bits ending at HighBit of each BitsAllocated container
///      (the other bits masked off), sign-extended when PixelRepresentation = 1;
///   2. Pixel Padding Value (and Range Limit, inclusive, either order) marks padding pixels,
///      which are left out of every statistic and rendered black;
///   3. Modality LUT: the Modality LUT Sequence when present, else Rescale Slope/Intercept
///      (negative slopes included);
///   4. VOI: a Window Center/Width (LINEAR, LINEAR_EXACT or SIGMOID, as VOI LUT Function
///      says) or a VOI LUT; by default the first window, else the first VOI LUT; when the
///      file has neither, a linear min/max window over the non-padding pixels;
///   5. MONOCHROME1 or Presentation LUT Shape INVERSE: inverted, last, exactly once (both
///      together still invert once: they say the same thing);
///   6. rounded (half up) to the 8-bit gray plane the PNG path produces.
///
/// Colour input (RGB, YBR_FULL, YBR_FULL_422) becomes gray with the luma the PNG path uses
/// (ITU-R 601-2, OpenCV's BGR2GRAY); YBR's Y is that luma already.
#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mura::data::dicom {

/// A lookup table (Modality or VOI): LUT Descriptor (entries, first mapped value, bits) and
/// LUT Data. Inputs below the first mapped value take the first entry, above the last
/// take the last.
struct Lut {
  std::int64_t first_mapped = 0;
  int bits = 16;
  std::vector<std::uint16_t> data;
  std::string explanation;
};

enum class VoiFunction { Linear, LinearExact, Sigmoid };

struct Window {
  double center = 0;
  double width = 0;
  std::string explanation;  ///< Window Center & Width Explanation (may be empty)
};

enum class Colour { Monochrome2, Monochrome1, Rgb, YbrFull, YbrFull422 };

/// Everything the pipeline needs, as decoded: pixel format from the decoder (which wins
/// over a header that disagrees), the rest from the header.
struct PixelInput {
  int rows = 0;
  int cols = 0;
  int samples = 1;          ///< 1 or 3
  int planar = 0;           ///< Planar Configuration for 3 samples (0: RGBRGB, 1: RRGGBB)
  int bits_allocated = 16;  ///< 8, 16 or 32
  int bits_stored = 16;
  int high_bit = 15;
  bool is_signed = false;  ///< Pixel Representation 1
  Colour colour = Colour::Monochrome2;
  bool presentation_inverse = false;  ///< Presentation LUT Shape INVERSE
  std::optional<std::int64_t> padding_value;
  std::optional<std::int64_t> padding_range;
  double slope = 1.0;
  double intercept = 0.0;
  std::optional<Lut> modality_lut;
  std::vector<Window> windows;
  std::vector<Lut> voi_luts;
  VoiFunction voi_function = VoiFunction::Linear;
};

/// Which VOI to apply: `--dicom-window`. Empty text: the default (first window, else first
/// VOI LUT, else min/max). "N" (1-based): the N-th window (or VOI LUT when the file has no
/// windows). "minmax": ignore the file's VOI. Any other text: the window or VOI LUT whose
/// Explanation equals it (case-insensitive).
struct VoiChoice {
  enum class Kind { Default, Index, Name, MinMax } kind = Kind::Default;
  std::size_t index = 0;  ///< 1-based, for Kind::Index
  std::string name;       ///< for Kind::Name
};
VoiChoice parse_voi_choice(const std::string& text);

/// Renders decoded pixels (`bytes`: rows*cols*samples containers, host byte order) to
/// CV_8UC1. Throws mura::Error prefixed with `name` when the input is inconsistent
/// (buffer too short, bit layout impossible, chosen window absent, window width < 1).
cv::Mat render(const void* bytes, std::size_t size, const PixelInput& in, const VoiChoice& voi,
               const std::string& name);

}  // namespace mura::data::dicom
