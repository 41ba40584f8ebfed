#include "mura/data/dicom.h"

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmJPEGCodec.h>
#include <gdcmPVRGCodec.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <streambuf>
#include <vector>

#include "mura/data/dicom_j2k.h"
#include "mura/data/dicom_pipeline.h"
#include "mura/data/dicom_scan.h"
#include "mura/data/gdcm_guard.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data {

namespace {

using dicom::Colour;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": DICOM: " + what);
}

/// GDCM logs to std::cerr and its messages can quote header values: silence it once.
void silence_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

/// A read-only std::streambuf over bytes already in memory (GDCM seeks).
class MemoryBuf : public std::streambuf {
 public:
  explicit MemoryBuf(std::string_view b) {
    char* p = const_cast<char*>(b.data());
    setg(p, p, p + b.size());
  }

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
    char* target = dir == std::ios_base::beg   ? eback() + off
                   : dir == std::ios_base::cur ? gptr() + off
                                               : egptr() + off;
    if (target < eback() || target > egptr()) return pos_type(off_type(-1));
    setg(eback(), target, egptr());
    return pos_type(target - eback());
  }
  pos_type seekpos(pos_type pos, std::ios_base::openmode m) override {
    return seekoff(off_type(pos), std::ios_base::beg, m);
  }
};

gdcm::Tag tag(std::uint16_t g, std::uint16_t e) {
  return gdcm::Tag(g, e);
}

const gdcm::Tag kPixelData(0x7fe0, 0x0010);

/// The raw value bytes of an element, or nullopt.
std::optional<std::string_view> raw(const gdcm::DataSet& ds, const gdcm::Tag& t) {
  if (!ds.FindDataElement(t)) return std::nullopt;
  const gdcm::DataElement& de = ds.GetDataElement(t);
  const gdcm::ByteValue* bv = de.GetByteValue();
  if (!bv) return std::nullopt;
  return std::string_view(bv->GetPointer(), bv->GetLength());
}

/// A string element, trimmed of the padding spaces and NULs DICOM adds.
std::string text(const gdcm::DataSet& ds, const gdcm::Tag& t) {
  auto r = raw(ds, t);
  if (!r) return {};
  std::string s(*r);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  const auto first = s.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : s.substr(first);
}

std::vector<std::string> values(const gdcm::DataSet& ds, const gdcm::Tag& t) {
  const std::string s = text(ds, t);
  if (s.empty()) return {};
  std::vector<std::string> out;
  for (auto& v : split(s, '\\')) out.emplace_back(trim(v));
  return out;
}

/// A decimal (DS/IS) value; `what` names the attribute in errors.
std::optional<double> number(const std::string& v, const std::string& name,
                             const std::string& what) {
  if (v.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    const double d = std::stod(v, &used);
    if (used != v.size() || !std::isfinite(d)) throw std::invalid_argument("x");
    return d;
  } catch (const std::exception&) {
    fail(name, what + " is not a number");
  }
}

/// Binary values (US/SS/OW) as GDCM holds them: it swaps big-endian data sets to little
/// endian while reading, so every value here is little endian.
struct Binary {
  static std::vector<std::uint16_t> words(std::string_view r) {
    std::vector<std::uint16_t> out(r.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = std::uint16_t(static_cast<unsigned char>(r[2 * i]) |
                             (static_cast<unsigned char>(r[2 * i + 1]) << 8));
    return out;
  }
  std::optional<std::uint16_t> us(const gdcm::DataSet& ds, const gdcm::Tag& t) const {
    auto r = raw(ds, t);
    if (!r || r->size() < 2) return std::nullopt;
    return words(r->substr(0, 2))[0];
  }
};

Binary binary_of(const gdcm::File&) {
  return Binary{};
}

std::optional<dicom::Lut> lut_item(const gdcm::DataSet& item, const Binary& bin, bool first_signed,
                                   const std::string& name, const std::string& seq) {
  auto desc = raw(item, tag(0x0028, 0x3002));
  auto data = raw(item, tag(0x0028, 0x3006));
  if (!desc || desc->size() < 6) fail(name, seq + " item has no valid LUT Descriptor (0028,3002)");
  if (!data || data->size() < 2) fail(name, seq + " item has no LUT Data (0028,3006)");
  const auto d = bin.words(*desc);
  dicom::Lut lut;
  const std::size_t entries = d[0] == 0 ? 65536 : d[0];
  lut.first_mapped = first_signed ? static_cast<std::int16_t>(d[1]) : d[1];
  lut.bits = d[2];
  if (d[2] == 8 && data->size() == entries) {  // 8-bit LUT data stored one byte per entry
    for (char c : *data) lut.data.push_back(static_cast<unsigned char>(c));
  } else {
    lut.data = bin.words(*data);
  }
  if (lut.data.size() > entries) lut.data.resize(entries);
  lut.explanation = text(item, tag(0x0028, 0x3003));
  return lut;
}

std::vector<dicom::Lut> lut_sequence(const gdcm::DataSet& ds, const gdcm::Tag& t, const Binary& bin,
                                     bool first_signed, const std::string& name,
                                     const std::string& seq) {
  std::vector<dicom::Lut> out;
  if (!ds.FindDataElement(t)) return out;
  gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds.GetDataElement(t).GetValueAsSQ();
  if (!sq) return out;
  for (gdcm::SequenceOfItems::SizeType i = 1; i <= sq->GetNumberOfItems(); ++i)
    if (auto l = lut_item(sq->GetItem(i).GetNestedDataSet(), bin, first_signed, name, seq))
      out.push_back(*l);
  return out;
}

// --- body part --------------------------------------------------------------------------

struct Term {
  const char* words;
  const char* part;
};

// Longer phrases first, so "LOWER ARM" wins over "ARM" and "HANDGELENK" over "HAND".
const Term kTerms[] = {
    {"LOWER ARM", "XR_FOREARM"}, {"LOWERARM", "XR_FOREARM"}, {"FORE ARM", "XR_FOREARM"},
    {"FOREARM", "XR_FOREARM"},   {"UNTERARM", "XR_FOREARM"}, {"RADIUS ULNA", "XR_FOREARM"},
    {"UPPER ARM", "XR_HUMERUS"}, {"UPPERARM", "XR_HUMERUS"}, {"OBERARM", "XR_HUMERUS"},
    {"HUMERUS", "XR_HUMERUS"},   {"ARM", "XR_HUMERUS"},      {"HANDGELENK", "XR_WRIST"},
    {"WRIST", "XR_WRIST"},       {"CARPUS", "XR_WRIST"},     {"SCAPHOID", "XR_WRIST"},
    {"ELBOW", "XR_ELBOW"},       {"ELLBOGEN", "XR_ELBOW"},   {"ELLENBOGEN", "XR_ELBOW"},
    {"FINGERS", "XR_FINGER"},    {"FINGER", "XR_FINGER"},    {"THUMB", "XR_FINGER"},
    {"DAUMEN", "XR_FINGER"},     {"HANDS", "XR_HAND"},       {"HAND", "XR_HAND"},
    {"SHOULDER", "XR_SHOULDER"}, {"SCHULTER", "XR_SHOULDER"}};

/// Upper-case words of `s` (letters and digits), joined by single spaces.
std::string words_of(const std::string& s) {
  std::string out;
  bool gap = true;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      if (gap && !out.empty()) out += ' ';
      out += static_cast<char>(std::toupper(u));
      gap = false;
    } else {
      gap = true;
    }
  }
  return out;
}

/// Every part the words name, each phrase matched on word boundaries.
std::set<std::string> parts_named(const std::string& free_text) {
  std::string w = " " + words_of(free_text) + " ";
  std::set<std::string> found;
  for (const auto& t : kTerms) {
    const std::string needle = std::string(" ") + t.words + " ";
    for (auto at = w.find(needle); at != std::string::npos; at = w.find(needle)) {
      found.insert(t.part);
      w.replace(at, needle.size(), "  ");  // consumed: "LOWER ARM" is not also "ARM"
    }
  }
  return found;
}

// SNOMED CT and SNOMED-RT (SRT) codes of the Anatomic Region Sequence.
const std::pair<const char*, const char*> kCodes[] = {
    {"127949000", "XR_ELBOW"},  {"16953009", "XR_ELBOW"},    {"T-D8300", "XR_ELBOW"},
    {"7569003", "XR_FINGER"},   {"T-D8800", "XR_FINGER"},    {"14975008", "XR_FOREARM"},
    {"T-D8500", "XR_FOREARM"},  {"85562004", "XR_HAND"},     {"T-D8700", "XR_HAND"},
    {"40983000", "XR_HUMERUS"}, {"85050009", "XR_HUMERUS"},  {"T-D8200", "XR_HUMERUS"},
    {"T-12410", "XR_HUMERUS"},  {"16982005", "XR_SHOULDER"}, {"T-D2220", "XR_SHOULDER"},
    {"74670003", "XR_WRIST"},   {"8205005", "XR_WRIST"},     {"T-D8600", "XR_WRIST"},
    {"T-15460", "XR_WRIST"},    {"53120007", "XR_HUMERUS"},  {"T-D8000", "XR_HUMERUS"}};

std::string only(const std::set<std::string>& s) {
  return s.size() == 1 ? *s.begin() : std::string();
}

/// BodyPartExamined, then the Anatomic Region Sequence, then Study/Series Description
/// keywords; the sources that name a part must agree, else none.
std::string resolve_body_part(const gdcm::DataSet& ds, std::string& term) {
  term = to_upper(text(ds, tag(0x0018, 0x0015)));
  std::set<std::string> votes;
  bool any_source = false;
  if (!term.empty()) {
    const std::string p = body_part_from_term(term);
    if (!p.empty()) {
      votes.insert(p);
      any_source = true;
    }
  }
  const gdcm::Tag region(0x0008, 0x2218);
  if (ds.FindDataElement(region)) {
    if (auto sq = ds.GetDataElement(region).GetValueAsSQ(); sq && sq->GetNumberOfItems() > 0) {
      const gdcm::DataSet& item = sq->GetItem(1).GetNestedDataSet();
      const std::string code = text(item, tag(0x0008, 0x0100));
      std::string p;
      for (const auto& [c, part] : kCodes)
        if (code == c) p = part;
      if (p.empty()) p = only(parts_named(text(item, tag(0x0008, 0x0104))));
      if (!p.empty()) {
        votes.insert(p);
        any_source = true;
      }
    }
  }
  if (!any_source) {
    std::set<std::string> named = parts_named(text(ds, tag(0x0008, 0x1030)));
    for (const auto& p : parts_named(text(ds, tag(0x0008, 0x103e)))) named.insert(p);
    return only(named);
  }
  return only(votes);
}

// --- header checks ----------------------------------------------------------------------

bool is_non_image_sop_class(const std::string& uid) {
  static const char* const kPrefixes[] = {
      "1.2.840.10008.5.1.4.1.1.88.",   // structured reports, key object selection
      "1.2.840.10008.5.1.4.1.1.11.",   // presentation states
      "1.2.840.10008.5.1.4.1.1.9.",    // waveforms
      "1.2.840.10008.5.1.4.1.1.104.",  // encapsulated documents
      "1.2.840.10008.5.1.4.1.1.481.",  // radiotherapy objects
      "1.2.840.10008.5.1.4.1.1.66",    // raw data, spatial registration, fiducials
      "1.2.840.10008.5.1.4.1.1.67",    // real world value mapping
      "1.2.840.10008.5.1.4.1.1.68",    // surfaces
      "1.2.840.10008.5.1.4.1.1.78.",   // ophthalmic measurements
      "1.2.840.10008.5.1.4.1.1.79.",   // lens measurements
      "1.2.840.10008.5.1.4.1.1.90.",   // content assessment
      "1.2.840.10008.3.1.2.",          // DICOMDIR and other media storage
      "1.2.840.10008.1.3.10",          // media storage directory
  };
  for (const char* p : kPrefixes)
    if (starts_with(uid, p)) return true;
  return false;
}

/// Fills `info` from a header read up to (not into) Pixel Data.
void inspect(const gdcm::File& file, const std::string& name, const DecodeOptions& options,
             DicomInfo& info) {
  const gdcm::DataSet& ds = file.GetDataSet();
  const Binary bin = binary_of(file);
  info.study_uid = text(ds, tag(0x0020, 0x000d));
  info.series_uid = text(ds, tag(0x0020, 0x000e));
  info.sop_instance_uid = text(ds, tag(0x0008, 0x0018));
  info.patient_key = text(ds, tag(0x0010, 0x0020));
  info.body_part = resolve_body_part(ds, info.body_part_term);
  const std::string sop_class = text(ds, tag(0x0008, 0x0016));
  const auto rows = bin.us(ds, tag(0x0028, 0x0010));
  const auto cols = bin.us(ds, tag(0x0028, 0x0011));
  if (!rows || !cols || is_non_image_sop_class(sop_class)) {
    info.kind = DicomInfo::Kind::NoPixels;
    info.reason = is_non_image_sop_class(sop_class)
                      ? "not an image object (SOP Class " + sop_class + ")"
                      : "no image (no Rows/Columns (0028,0010/0011))";
    return;
  }
  info.rows = *rows;
  info.cols = *cols;
  if (info.rows == 0 || info.cols == 0) fail(name, "Rows (0028,0010) or Columns (0028,0011) is 0");
  const std::uint64_t pixels = std::uint64_t(info.rows) * info.cols;
  if (pixels > options.max_pixels)
    fail(name, "Rows x Columns (0028,0010/0011) is " + std::to_string(info.rows) + "x" +
                   std::to_string(info.cols) + " (" + std::to_string(pixels) +
                   " pixels), over the limit of " + std::to_string(options.max_pixels) + " pixels");
  const std::string intent = to_upper(text(ds, tag(0x0008, 0x0068)));
  if (intent == "FOR PROCESSING") {
    info.kind = DicomInfo::Kind::ForProcessing;
    info.reason =
        "Presentation Intent Type (0008,0068) is FOR PROCESSING (raw detector data, not for "
        "viewing)";
    return;
  }
  if (const std::string frames = text(ds, tag(0x0028, 0x0008)); !frames.empty()) {
    const auto f = number(frames, name, "Number of Frames (0028,0008)");
    if (f && *f > 1) {
      info.kind = DicomInfo::Kind::Unsupported;
      info.reason = "multi-frame image (Number of Frames (0028,0008) = " + frames +
                    "); mura reads single radiographs";
      return;
    }
  }
  const std::string pi = to_upper(text(ds, tag(0x0028, 0x0004)));
  static const std::set<std::string> kReadable = {"",        "MONOCHROME1", "MONOCHROME2",
                                                  "RGB",     "YBR_FULL",    "YBR_FULL_422",
                                                  "YBR_ICT", "YBR_RCT",     "YBR_PARTIAL_420"};
  if (!kReadable.count(pi)) {
    info.kind = DicomInfo::Kind::Unsupported;
    info.reason = "Photometric Interpretation (0028,0004) " + pi + " is not supported";
  }
}

std::unique_ptr<gdcm::Reader> parse_header(std::istream& in, const std::string& name) {
  silence_gdcm();
  auto reader = std::make_unique<gdcm::Reader>();
  reader->SetStream(in);
  // Stops before Pixel Data: its value is never read here.
  const std::set<gdcm::Tag> skip{kPixelData};
  bool read = false;
  guard_gdcm(name, [&] { read = reader->ReadUpToTag(kPixelData, skip); });
  if (!read && reader->GetFile().GetDataSet().IsEmpty())
    fail(name, "not a readable DICOM file (no valid data set)");
  return reader;
}

Colour colour_of(const gdcm::PhotometricInterpretation& pi, const std::string& name) {
  switch (pi.GetType()) {
    case gdcm::PhotometricInterpretation::MONOCHROME1:
      return Colour::Monochrome1;
    case gdcm::PhotometricInterpretation::MONOCHROME2:
      return Colour::Monochrome2;
    case gdcm::PhotometricInterpretation::RGB:
    case gdcm::PhotometricInterpretation::YBR_RCT:  // GDCM gives RGB for reversible J2K
    case gdcm::PhotometricInterpretation::YBR_ICT:
      return Colour::Rgb;
    case gdcm::PhotometricInterpretation::YBR_FULL:
      return Colour::YbrFull;
    case gdcm::PhotometricInterpretation::YBR_FULL_422:
      return Colour::YbrFull422;
    default:
      fail(name, std::string("Photometric Interpretation (0028,0004) ") +
                     gdcm::PhotometricInterpretation::GetPIString(pi.GetType()) +
                     " is not supported");
  }
}

/// Checks, from a header read up to Pixel Data and the file's bytes (`head`: at least the
/// bytes up to Pixel Data's value, `size`: the whole file's length), that the file has Pixel
/// Data and, uncompressed, all of it: GDCM would pad a truncated value silently. The element
/// is found where the parsed header ends (meta + data set lengths) and its tag verified;
/// where it cannot be located (deflated data sets) the decoder's own checks remain.
void check_pixel_extent(const gdcm::Reader& reader, std::string_view head, std::uint64_t size,
                        const DicomInfo& info, const std::string& name) {
  const gdcm::File& f = reader.GetFile();
  const gdcm::TransferSyntax& ts = f.GetHeader().GetDataSetTransferSyntax();
  if (ts == gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian) return;
  const std::uint64_t at =
      std::uint64_t(f.GetHeader().GetFullLength()) +
      std::uint64_t(ts.IsImplicit() ? f.GetDataSet().GetLength<gdcm::ImplicitDataElement>()
                                    : f.GetDataSet().GetLength<gdcm::ExplicitDataElement>());
  if (at + 8 > size) fail(name, "no Pixel Data (7FE0,0010)");
  if (at + 12 > head.size()) return;
  const auto* p = reinterpret_cast<const unsigned char*>(head.data()) + at;
  const bool be = ts.GetSwapCode() == gdcm::SwapCode::BigEndian;
  auto u16 = [&](int i) {
    return be ? unsigned((p[i] << 8) | p[i + 1]) : unsigned(p[i] | (p[i + 1] << 8));
  };
  auto u32 = [&](int i) {
    return be ? (std::uint32_t(u16(i)) << 16) | u16(i + 2)
              : std::uint32_t(u16(i)) | (std::uint32_t(u16(i + 2)) << 16);
  };
  if (u16(0) != 0x7fe0 || u16(2) != 0x0010) return;  // not where expected: leave it to the decoder
  std::uint32_t vl;
  std::uint64_t value_at;
  if (ts.IsImplicit()) {
    vl = u32(4);
    value_at = at + 8;
  } else {
    vl = u32(8);
    value_at = at + 12;
  }
  if (vl == 0xFFFFFFFFu) {  // encapsulated: at least the fragments' item tags must be there
    if (value_at + 8 > size) fail(name, "truncated Pixel Data (7FE0,0010)");
    return;
  }
  const std::uint64_t spp = Binary{}.us(f.GetDataSet(), tag(0x0028, 0x0002)).value_or(1);
  const std::uint64_t bits = Binary{}.us(f.GetDataSet(), tag(0x0028, 0x0100)).value_or(16);
  std::uint64_t need = std::uint64_t(info.rows) * info.cols * spp * ((bits + 7) / 8);
  if (to_upper(text(f.GetDataSet(), tag(0x0028, 0x0004))) == "YBR_FULL_422" && spp == 3)
    need = need / 3 * 2;  // two samples a pixel: Y1 Y2 Cb Cr per pair
  if (vl < need)
    fail(name, "Pixel Data (7FE0,0010) holds " + std::to_string(vl) + " bytes, fewer than the " +
                   std::to_string(need) + " that Rows x Columns x Samples x Bits Allocated need");
  if (value_at + vl > size)
    fail(name, "truncated Pixel Data (7FE0,0010): the file ends " +
                   std::to_string(value_at + vl - size) + " bytes before the end of its value");
}

}  // namespace

bool looks_like_dicom(std::string_view b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  if (b.size() >= 132 && std::memcmp(p + 128, "DICM", 4) == 0) return true;
  if (b.size() < 8) return false;
  // No preamble: the first element's group is 0x0002 (meta) or 0x0008 (identifying module),
  // little or big endian, with a small element number and either a VR or a length.
  const unsigned g_le = p[0] | (p[1] << 8), g_be = (p[0] << 8) | p[1];
  const unsigned e_le = p[2] | (p[3] << 8), e_be = (p[2] << 8) | p[3];
  const bool le = (g_le == 0x0002 || g_le == 0x0008) && e_le < 0x0200;
  const bool be = (g_be == 0x0008) && e_be < 0x0200;
  if (!le && !be) return false;
  const bool vr = std::isupper(p[4]) && std::isupper(p[5]);
  const std::uint32_t len_le =
      p[4] | (p[5] << 8) | (std::uint32_t(p[6]) << 16) | (std::uint32_t(p[7]) << 24);
  return vr || len_le < 0x10000;
}

std::string body_part_from_term(const std::string& term) {
  return only(parts_named(term));
}

DicomInfo read_dicom_info(const std::filesystem::path& file, const DecodeOptions& options) {
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(name, "cannot open the file");
  char head[132] = {};
  in.read(head, sizeof head);
  if (!looks_like_dicom(std::string_view(head, static_cast<std::size_t>(in.gcount()))))
    fail(name, "not a DICOM file (no DICM prefix and no DICOM data set at the start)");
  in.clear();
  in.seekg(0, std::ios::end);
  check_dicom_structure(in, static_cast<std::uint64_t>(in.tellg()), name, /*header_only=*/true);
  auto reader = parse_header(in, name);
  DicomInfo info;
  inspect(reader->GetFile(), name, options, info);
  if (info.kind != DicomInfo::Kind::Image) return info;
  // The bytes up to Pixel Data's value (the header just parsed, and a little more).
  in.clear();
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  const std::uint64_t want = std::min<std::uint64_t>(
      size, std::uint64_t(reader->GetFile().GetHeader().GetFullLength()) +
                reader->GetFile().GetDataSet().GetLength<gdcm::ExplicitDataElement>() + 64);
  std::string upto(static_cast<std::size_t>(want), '\0');
  in.seekg(0);
  in.read(upto.data(), static_cast<std::streamsize>(want));
  upto.resize(static_cast<std::size_t>(in.gcount()));
  check_pixel_extent(*reader, upto, size, info, name);
  return info;
}

namespace {

/// For the JPEG transfer syntaxes, the check GDCM's ImageReader makes of the first
/// fragment's JPEG header (Bitmap::TryJPEGCodec's short path), made first: when GDCM's JPEG
/// codec fails there, ImageReader goes on to its PVRG codec, which writes the data to a
/// tempnam() file and runs /usr/bin/pvrg-jpeg through system() (Debian installs it). Found
/// by fuzzing (tempnam's leak). A file whose JPEG header GDCM cannot read is refused here.
void refuse_unreadable_jpeg(std::string_view bytes, const gdcm::TransferSyntax& ts,
                            const std::string& name) {
  if (!gdcm::PVRGCodec().CanDecode(ts)) return;
  MemoryBuf buf(bytes);
  std::istream in(&buf);
  gdcm::Reader reader;
  reader.SetStream(in);
  bool read = false;
  guard_gdcm(name, [&] { read = reader.Read(); });
  const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
  const gdcm::SequenceOfFragments* sf = read && ds.FindDataElement(kPixelData)
                                            ? ds.GetDataElement(kPixelData).GetSequenceOfFragments()
                                            : nullptr;
  const gdcm::ByteValue* first =
      sf && sf->GetNumberOfFragments() > 0 ? sf->GetFragment(0).GetByteValue() : nullptr;
  if (!first) fail(name, "JPEG Pixel Data (7FE0,0010) without a readable first fragment");
  const Binary bin;
  const auto u = [&](std::uint16_t e) { return bin.us(ds, tag(0x0028, e)).value_or(0); };
  gdcm::JPEGCodec codec;
  codec.SetPixelFormat(gdcm::PixelFormat(u(0x0002), u(0x0100), u(0x0101), u(0x0102), u(0x0103)));
  std::stringstream ss;
  ss.write(first->GetPointer(), first->GetLength());
  gdcm::TransferSyntax ts2;
  bool header = false;
  guard_gdcm(name, [&] { header = codec.GetHeaderInfo(ss, ts2); });
  if (!header)
    fail(name, "the JPEG data in Pixel Data (7FE0,0010) is damaged (no readable header)");
}

}  // namespace

cv::Mat decode_dicom(std::string_view bytes, const std::string& name,
                     const DecodeOptions& options) {
  if (!looks_like_dicom(bytes))
    fail(name, "not a DICOM file (no DICM prefix and no DICOM data set at the start)");
  // 0. The element structure (dicom_scan.h): nothing GDCM would over-allocate or abort on.
  {
    MemoryBuf buf(bytes);
    std::istream in(&buf);
    check_dicom_structure(in, bytes.size(), name, /*header_only=*/false);
  }
  // 1. The header alone: refuse what cannot or should not be decoded before decoding.
  DicomInfo info;
  {
    MemoryBuf buf(bytes);
    std::istream in(&buf);
    auto reader = parse_header(in, name);
    inspect(reader->GetFile(), name, options, info);
    if (info.kind == DicomInfo::Kind::Image) {
      check_pixel_extent(*reader, bytes, bytes.size(), info, name);
      refuse_unreadable_jpeg(bytes, reader->GetFile().GetHeader().GetDataSetTransferSyntax(), name);
    }
  }
  if (info.kind != DicomInfo::Kind::Image) fail(name, info.reason);

  // 2. The whole file, decoded by GDCM.
  MemoryBuf buf(bytes);
  std::istream in(&buf);
  gdcm::ImageReader reader;
  reader.SetStream(in);
  bool read = false;
  guard_gdcm(name, [&] { read = reader.Read(); });
  if (!read) {
    const gdcm::DataSet& ds = reader.GetFile().GetDataSet();
    if (!ds.FindDataElement(kPixelData))
      fail(name, "no Pixel Data (7FE0,0010) (truncated file or no image)");
    fail(name, "the image could not be read (truncated or corrupt Pixel Data (7FE0,0010))");
  }
  const gdcm::File& file = reader.GetFile();
  const gdcm::DataSet& ds = file.GetDataSet();
  if (!ds.FindDataElement(kPixelData) || ds.GetDataElement(kPixelData).IsEmpty())
    fail(name, "no Pixel Data (7FE0,0010)");
  const gdcm::Image& image = reader.GetImage();
  if (image.GetNumberOfDimensions() == 3 && image.GetDimension(2) > 1)
    fail(name, "multi-frame image; mura reads single radiographs");
  const std::uint64_t pixels = std::uint64_t(image.GetColumns()) * image.GetRows();
  if (pixels > options.max_pixels) fail(name, "decoded image is over the pixel limit");

  // Uncompressed little-endian pixels (implicit/explicit VR little endian, deflate) are read
  // where GDCM holds them: its RAW codec would copy them through string streams three times
  // (most of the time of a whole decode, measured), and the pipeline masks the unused high
  // bits (where old overlays lived) itself. Everything else goes through GDCM's codecs.
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  const gdcm::TransferSyntax& ts = file.GetHeader().GetDataSetTransferSyntax();
  const gdcm::ByteValue* raw = ds.GetDataElement(kPixelData).GetByteValue();
  const std::size_t raw_need = static_cast<std::size_t>(pixels) *
                               static_cast<std::size_t>(pf.GetSamplesPerPixel()) *
                               static_cast<std::size_t>(pf.GetBitsAllocated() / 8);
  const bool direct = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !ts.IsEncapsulated() &&
                      ts.GetSwapCode() == gdcm::SwapCode::LittleEndian && raw != nullptr &&
                      pf.GetBitsAllocated() % 8 == 0 && raw_need > 0 &&
                      raw->GetLength() >= raw_need;
  std::vector<char> pixels_buf;
  const char* pixel_bytes = direct ? raw->GetPointer() : nullptr;
  std::size_t pixel_size = raw_need;
  if (!direct &&
      (ts == gdcm::TransferSyntax::JPEG2000Lossless || ts == gdcm::TransferSyntax::JPEG2000 ||
       ts == gdcm::TransferSyntax::JPEG2000Part2Lossless ||
       ts == gdcm::TransferSyntax::JPEG2000Part2)) {
    pixels_buf = decode_j2k_pixels(const_cast<gdcm::Image&>(image), name);  // dicom_j2k.h
    pixel_bytes = pixels_buf.data();
    pixel_size = pixels_buf.size();
  } else if (!direct && gdcm::PVRGCodec().CanDecode(ts)) {
    // JPEG (baseline, extended, lossless) through GDCM's JPEG codec only, as its
    // Bitmap::TryJPEGCodec does: when that codec fails, image.GetBuffer would go on to its
    // PVRG codec, which writes temporary files and runs an external decoder program
    // (fuzzing found it: tempnam in GDCM, reached by a damaged JPEG upload).
    gdcm::JPEGCodec codec;
    codec.SetNumberOfDimensions(image.GetNumberOfDimensions());
    codec.SetDimensions(image.GetDimensions());
    codec.SetPlanarConfiguration(image.GetPlanarConfiguration());
    codec.SetPhotometricInterpretation(image.GetPhotometricInterpretation());
    codec.SetPixelFormat(image.GetPixelFormat());
    codec.SetNeedOverlayCleanup(image.AreOverlaysInPixelData());
    gdcm::DataElement out;
    const std::size_t len = image.GetBufferLength();
    const gdcm::ByteValue* bv = nullptr;
    bool decoded = false;
    guard_gdcm(name, [&] { decoded = codec.Decode(image.GetDataElement(), out); });
    if (!decoded || !(bv = out.GetByteValue()) || bv->GetLength() < len || len == 0)
      fail(name, "Pixel Data (7FE0,0010) could not be decoded (truncated or corrupt " +
                     std::string(gdcm::TransferSyntax::GetTSString(ts)) + " data)");
    // the codestream's pixel format wins (12-bit JPEG in 16 bits allocated), as in GDCM
    if (codec.GetPixelFormat() != image.GetPixelFormat())
      const_cast<gdcm::Image&>(image).SetPixelFormat(codec.GetPixelFormat());
    pixels_buf.assign(bv->GetPointer(), bv->GetPointer() + len);
    pixel_bytes = pixels_buf.data();
    pixel_size = pixels_buf.size();
  } else if (!direct) {
    pixels_buf.resize(image.GetBufferLength());
    bool decoded = false;
    if (!pixels_buf.empty())
      guard_gdcm(name, [&] { decoded = image.GetBuffer(pixels_buf.data()); });
    if (!decoded)
      fail(name, "Pixel Data (7FE0,0010) could not be decoded (truncated or corrupt " +
                     std::string(gdcm::TransferSyntax::GetTSString(ts)) + " data)");
    pixel_bytes = pixels_buf.data();
    pixel_size = pixels_buf.size();
  }

  // 3. mura's grayscale pipeline, with the decoder's pixel format and the header's LUTs.
  const Binary bin = binary_of(file);
  dicom::PixelInput px;
  px.rows = static_cast<int>(image.GetRows());
  px.cols = static_cast<int>(image.GetColumns());
  px.samples = pf.GetSamplesPerPixel();
  px.planar = static_cast<int>(image.GetPlanarConfiguration());
  px.bits_allocated = pf.GetBitsAllocated();
  px.bits_stored = pf.GetBitsStored();
  px.high_bit = pf.GetHighBit();
  px.is_signed = pf.GetPixelRepresentation() == 1;
  px.colour = colour_of(image.GetPhotometricInterpretation(), name);
  px.presentation_inverse = to_upper(text(ds, tag(0x2050, 0x0020))) == "INVERSE";
  auto signed16 = [&](std::uint16_t v) -> std::int64_t {
    return px.is_signed ? std::int64_t(static_cast<std::int16_t>(v)) : std::int64_t(v);
  };
  if (auto v = bin.us(ds, tag(0x0028, 0x0120))) px.padding_value = signed16(*v);
  if (auto v = bin.us(ds, tag(0x0028, 0x0121)); v && px.padding_value)
    px.padding_range = signed16(*v);
  if (auto s = values(ds, tag(0x0028, 0x1053)); !s.empty())
    px.slope = number(s[0], name, "Rescale Slope (0028,1053)").value_or(1.0);
  if (auto s = values(ds, tag(0x0028, 0x1052)); !s.empty())
    px.intercept = number(s[0], name, "Rescale Intercept (0028,1052)").value_or(0.0);
  if (auto m = lut_sequence(ds, tag(0x0028, 0x3000), bin, px.is_signed, name,
                            "Modality LUT Sequence (0028,3000)");
      !m.empty())
    px.modality_lut = m[0];
  px.voi_luts = lut_sequence(ds, tag(0x0028, 0x3010), bin, px.is_signed, name,
                             "VOI LUT Sequence (0028,3010)");
  const auto centers = values(ds, tag(0x0028, 0x1050));
  const auto widths = values(ds, tag(0x0028, 0x1051));
  const auto explanations = values(ds, tag(0x0028, 0x1055));
  for (std::size_t i = 0; i < std::min(centers.size(), widths.size()); ++i) {
    dicom::Window w;
    w.center = number(centers[i], name, "Window Center (0028,1050)").value_or(0.0);
    w.width = number(widths[i], name, "Window Width (0028,1051)").value_or(0.0);
    if (i < explanations.size()) w.explanation = explanations[i];
    px.windows.push_back(w);
  }
  const std::string fn = to_upper(text(ds, tag(0x0028, 0x1056)));
  if (fn == "LINEAR_EXACT")
    px.voi_function = dicom::VoiFunction::LinearExact;
  else if (fn == "SIGMOID")
    px.voi_function = dicom::VoiFunction::Sigmoid;
  else if (!fn.empty() && fn != "LINEAR")
    fail(name, "VOI LUT Function (0028,1056) " + fn + " is not LINEAR, LINEAR_EXACT or SIGMOID");
  return dicom::render(pixel_bytes, pixel_size, px, dicom::parse_voi_choice(options.dicom_window),
                       name);
}

}  // namespace mura::data
