#include "mura/data/dicom_scan.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>

#include "mura/util/error.h"

namespace mura::data {
namespace {

constexpr std::uint32_t kUndefined = 0xFFFFFFFFu;
constexpr int kMaxDepth = 32;
constexpr std::uint64_t kMaxInflated = 256ull << 20;

std::string tag_text(std::uint16_t g, std::uint16_t e) {
  char b[16];
  std::snprintf(b, sizeof b, "(%04X,%04X)", g, e);
  return b;
}

bool is_vr(const char* v) {
  // GDCM 3.0's VRs (without OV, SV, UV, which it reads through its fallback readers)
  static const char* const kVrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD",
                                     "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL",
                                     "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "TM",
                                     "UC", "UI", "UL", "UN", "UR", "US", "UT"};
  for (const char* k : kVrs)
    if (v[0] == k[0] && v[1] == k[1]) return true;
  return false;
}

/// VRs whose explicit form has 2 reserved bytes and a 4-byte length.
bool long_vr(const char* v) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                      "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* k : kLong)
    if (v[0] == k[0] && v[1] == k[1]) return true;
  return false;
}

class Walk {
 public:
  Walk(std::istream& in, std::uint64_t size, const std::string& name, bool header_only)
      : in_(in), size_(size), name_(name), header_only_(header_only) {}

  void run() {
    std::uint64_t pos = 0;
    char head[4];
    bool meta = false;
    if (size_ >= 132 && read_at(128, head, 4, false) && std::memcmp(head, "DICM", 4) == 0) {
      pos = 132;
      meta = true;
    } else if (size_ >= 4 && read_at(0, head, 4, false) && head[0] == 0x02 && head[1] == 0x00) {
      meta = true;  // a meta group without the preamble
    }
    std::string ts;
    if (meta) pos = meta_group(pos, ts);
    if (pos >= size_) {
      if (!header_only_) fail("no data set after the File Meta Information");
      return;
    }
    if (ts == "1.2.840.10008.1.2.1.99") return inflate_and_walk(pos);
    if (ts == "1.2.840.10008.1.2") {
      explicit_ = false;
    } else if (ts == "1.2.840.10008.1.2.2") {
      big_ = true;
    } else if (ts.empty()) {
      guess(pos);
    }
    elements(pos, size_, 0, false);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(name_ + ": not a readable DICOM file (" + what + ")");
  }

  bool read_at(std::uint64_t pos, char* out, std::size_t n, bool required) {
    if (pos + n > size_) {
      if (required) fail("truncated at byte " + std::to_string(pos));
      return false;
    }
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(pos));
    in_.read(out, static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n) {
      if (required) fail("truncated at byte " + std::to_string(pos));
      return false;
    }
    return true;
  }

  std::uint16_t u16(const char* p) const {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return big_ ? static_cast<std::uint16_t>(b[0] << 8 | b[1])
                : static_cast<std::uint16_t>(b[1] << 8 | b[0]);
  }
  std::uint32_t u32(const char* p) const {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return big_ ? (std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | b[2] << 8 | b[3])
                : (std::uint32_t(b[3]) << 24 | std::uint32_t(b[2]) << 16 | b[1] << 8 | b[0]);
  }

  /// An explicit VR element's length and where its value starts, from its first 8 bytes in
  /// `h` (12 are read for the long form).
  void explicit_length(std::uint64_t pos, char* h, std::uint64_t& len, std::uint64_t& value) {
    if (long_vr(h + 4)) {
      read_at(pos, h, 12, true);
      len = u32(h + 8);
      value = pos + 12;
    } else {
      len = u16(h + 6);
      value = pos + 8;
    }
  }

  /// Group 0002 (always explicit VR little endian); returns where the data set starts.
  std::uint64_t meta_group(std::uint64_t pos, std::string& ts) {
    while (pos + 8 <= size_) {
      char h[12];
      read_at(pos, h, 8, true);
      if (u16(h) != 0x0002) break;
      const std::uint16_t e = u16(h + 2);
      if (!is_vr(h + 4))
        fail("File Meta Information element " + tag_text(2, e) + " at byte " + std::to_string(pos) +
             " has no valid VR");
      std::uint64_t len, value;
      explicit_length(pos, h, len, value);
      if (len == kUndefined || len > size_ - value)
        fail("File Meta Information element " + tag_text(2, e) + " at byte " + std::to_string(pos) +
             " runs past the end of the file");
      if (e == 0x0010 && len <= 64) {
        ts.assign(static_cast<std::size_t>(len), '\0');
        read_at(value, ts.data(), ts.size(), true);
        while (!ts.empty() && (ts.back() == '\0' || ts.back() == ' ')) ts.pop_back();
      }
      pos = value + len;
    }
    return pos;
  }

  /// Without a meta header: byte order and VR from the first element, as GDCM guesses them.
  void guess(std::uint64_t pos) {
    char b[8];
    if (!read_at(pos, b, 8, false)) fail("no complete element at the start");
    const auto* u = reinterpret_cast<const unsigned char*>(b);
    big_ = u[0] < u[1];
    explicit_ = std::isupper(u[4]) && std::isupper(u[5]) && is_vr(b + 4);
  }

  /// Elements from `pos` to `end`; inside an undefined-length item (`in_item`), up to and
  /// including its Item Delimitation Item. Returns the position after the last one.
  std::uint64_t elements(std::uint64_t pos, std::uint64_t end, int depth, bool in_item,
                         const std::string& within = "") {
    if (depth > kMaxDepth) fail("sequences nested deeper than " + std::to_string(kMaxDepth));
    while (pos < end) {
      if (end - pos < 8) {
        // up to 3 trailing bytes after the last element at the top level (less than a tag:
        // GDCM stops there; 4 or more it reads as an element, through its fallback readers)
        if (depth == 0 && !in_item && end - pos < 4) return end;
        fail("an element header cut short at byte " + std::to_string(pos));
      }
      char h[12];
      read_at(pos, h, 8, true);
      const std::uint16_t g = u16(h), e = u16(h + 2);
      if (g == 0xFFFE) {
        if (in_item && e == 0xE00D) return pos + 8;
        fail("unexpected item tag " + tag_text(g, e) + " at byte " + std::to_string(pos));
      }
      if (header_only_ && g == 0x7FE0 && e == 0x0010 && depth == 0) return end;
      std::uint64_t len, value;
      bool sq = false, vr_known = false;
      if (explicit_ && !is_vr(h + 4))
        fail(where_of(g, e, pos) + " has no valid VR in an explicit VR data set");
      if (explicit_) {
        vr_known = true;
        sq = h[4] == 'S' && h[5] == 'Q';
        explicit_length(pos, h, len, value);
      } else {
        len = u32(h + 4);
        value = pos + 8;
      }
      const std::string where = where_of(g, e, pos);
      if (len == kUndefined) {
        const bool pixels = g == 0x7FE0 && e == 0x0010;
        pos = items(value, end, depth + 1, pixels, kUndefined, where);
        continue;
      }
      if (len > end - value)
        fail(where + " declares " + std::to_string(len) + " bytes but only " +
             std::to_string(end - value) + " remain (truncated or damaged)");
      if (sq || (!vr_known && len >= 8 && starts_item(value)))
        items(value, value + len, depth + 1, false, len, where);
      pos = value + len;
    }
    if (in_item)
      fail(within + ": an item without its delimiter before byte " + std::to_string(end));
    return pos;
  }

  static std::string where_of(std::uint16_t g, std::uint16_t e, std::uint64_t pos) {
    return "element " + tag_text(g, e) + " at byte " + std::to_string(pos);
  }

  bool starts_item(std::uint64_t pos) {
    char h[4];
    return read_at(pos, h, 4, false) && u16(h) == 0xFFFE && u16(h + 2) == 0xE000;
  }

  /// The items of a sequence (or the fragments of encapsulated Pixel Data) from `pos`:
  /// up to `end` for a defined length, up to the Sequence Delimitation Item otherwise.
  std::uint64_t items(std::uint64_t pos, std::uint64_t end, int depth, bool fragments,
                      std::uint32_t length, const std::string& where) {
    if (depth > kMaxDepth) fail("sequences nested deeper than " + std::to_string(kMaxDepth));
    while (length != kUndefined ? pos < end : true) {
      char h[8];
      if (!read_at(pos, h, 8, false) || pos + 8 > end)
        fail(where + ": a sequence without its end (truncated)");
      const std::uint16_t g = u16(h), e = u16(h + 2);
      const std::uint32_t len = u32(h + 4);
      if (g == 0xFFFE && e == 0xE0DD) {
        if (length != kUndefined)
          fail(where + ": a sequence delimiter in a defined-length sequence");
        return pos + 8;
      }
      if (g != 0xFFFE || e != 0xE000)
        fail(where + ": expected an item, found " + tag_text(g, e) + " at byte " +
             std::to_string(pos));
      const std::uint64_t value = pos + 8;
      if (len == kUndefined) {
        if (fragments) fail(where + ": a Pixel Data fragment of undefined length");
        pos = elements(value, end, depth + 1, true, where);
        continue;
      }
      if (len > end - value)
        fail(where + ": an item at byte " + std::to_string(pos) + " declares " +
             std::to_string(len) + " bytes but only " + std::to_string(end - value) + " remain");
      if (!fragments) elements(value, value + len, depth + 1, false);
      pos = value + len;
    }
    return pos;
  }

  /// Deflated Explicit VR Little Endian: inflate (bounded) and walk the data set.
  void inflate_and_walk(std::uint64_t pos) {
    std::string in(static_cast<std::size_t>(size_ - pos), '\0');
    read_at(pos, in.data(), in.size(), true);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("cannot start inflating the data set");
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    char buf[1 << 16];
    while (rc == Z_OK) {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      rc = inflate(&z, Z_NO_FLUSH);
      out.append(buf, sizeof buf - z.avail_out);
      if (out.size() > kMaxInflated) {
        inflateEnd(&z);
        fail("the deflated data set inflates to more than 256 MB");
      }
      if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // ends without a final block
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END && rc != Z_BUF_ERROR && rc != Z_OK)
      fail("the deflated data set is corrupt");
    std::istringstream inflated(out);
    Walk inner(inflated, out.size(), name_, header_only_);
    inner.elements(0, out.size(), 0, false);
  }

  std::istream& in_;
  std::uint64_t size_;
  const std::string& name_;
  bool header_only_;
  bool big_ = false, explicit_ = true;
};

}  // namespace

void check_dicom_structure(std::istream& in, std::uint64_t size, const std::string& name,
                           bool header_only) {
  Walk(in, size, name, header_only).run();
  in.clear();
  in.seekg(0);
}

}  // namespace mura::data
