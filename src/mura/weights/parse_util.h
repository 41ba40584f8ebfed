#pragma once
/// Byte-reading helpers shared by the pieces of the .pth reader (zip_reader, unpickler,
/// pth_legacy, pth_reader): the parse error, the file name used in messages, little-endian
/// loads and the quoting used in messages. Internal to mura::weights.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "mura/util/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mura's .pth reader assumes a little-endian host (torch files are little-endian)"
#endif

namespace mura::weights::detail {

/// An Error raised while parsing; `truncated` marks input that ended too early, so the
/// legacy reader can tell a cut-short torch file from some other pickle.
class ParseError : public Error {
 public:
  ParseError(const std::string& message, bool truncated) : Error(message), truncated_(truncated) {}
  bool truncated() const { return truncated_; }

 private:
  bool truncated_;
};

/// The name used in messages, and the two ways of failing.
struct Source {
  std::string name;
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError(location(name) + what, false);
  }
  [[noreturn]] void truncated(const std::string& what) const {
    throw ParseError(location(name) + "truncated: " + what, true);
  }
};

inline std::uint16_t le16(const char* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint32_t le32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint64_t le64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::string hex(unsigned v, int digits = 2) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kDigits[v & 15];
  return s;
}

inline std::string quote(std::string_view s) {
  std::string out = "'";
  for (const char c : s.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {  // keeps messages printable whatever the file holds
      out += "\\x" + hex(u);
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  return out + "'";
}

inline std::string join_ints(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace mura::weights::detail
