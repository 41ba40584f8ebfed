#include "mura/weights/zip_reader.h"

namespace mura::weights::detail {

/// CRC-32 (zip's polynomial), slice-by-8: about 1-2 GB/s, so checking every record of a
/// 100 MB file costs well under 100 ms.
std::uint32_t crc32(const char* data, std::size_t n) {
  struct Table {
    std::uint32_t t[8][256];
    Table() {
      for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
      }
      for (std::uint32_t i = 0; i < 256; ++i)
        for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  };
  static const Table table;
  const auto& t = table.t;
  std::uint32_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    const std::uint32_t a = le32(data) ^ c;
    const std::uint32_t b = le32(data + 4);
    c = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
        t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
    data += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ static_cast<unsigned char>(*data++)) & 0xff] ^ (c >> 8);
  return ~c;
}

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;

}  // namespace

std::unordered_map<std::string, ZipRecord> read_zip(const Source& src, std::string_view z,
                                                    std::vector<std::string>& order,
                                                    bool allow_compressed) {
  const std::size_t n = z.size();
  auto corrupt = [&](const std::string& why) { src.fail("corrupt zip archive: " + why); };
  // End of central directory: the last 22 bytes plus a comment of at most 64 KiB.
  std::size_t eocd = std::string_view::npos;
  if (n >= 22) {
    const std::size_t lowest = n - 22 > 65535 ? n - 22 - 65535 : 0;
    for (std::size_t p = n - 22 + 1; p-- > lowest;) {
      if (le32(z.data() + p) == kEndSig && p + 22 + le16(z.data() + p + 20) == n) {
        eocd = p;
        break;
      }
    }
  }
  if (eocd == std::string_view::npos)
    src.truncated(
        "zip archive without its end-of-central-directory record (the file was cut "
        "short or is damaged)");
  const char* e = z.data() + eocd;
  std::uint64_t entries = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  std::uint64_t cd_end_limit = eocd;
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le32(z.data() + eocd - 20) != kLocator64Sig)
      corrupt("zip64 values without a zip64 locator");
    const std::uint64_t e64 = le64(z.data() + eocd - 20 + 8);
    if (e64 > eocd - 20 || eocd - 20 - e64 < 56 || le32(z.data() + e64) != kEnd64Sig)
      corrupt("bad zip64 end-of-central-directory record");
    const char* r = z.data() + e64;
    entries = le64(r + 32);
    cd_size = le64(r + 40);
    cd_offset = le64(r + 48);
    cd_end_limit = e64;
  }
  if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset)
    corrupt("central directory outside the file");
  if (entries > cd_size / 46) corrupt("more entries than the central directory can hold");

  std::unordered_map<std::string, ZipRecord> records;
  std::size_t p = static_cast<std::size_t>(cd_offset);
  const std::size_t cd_end = static_cast<std::size_t>(cd_offset + cd_size);
  for (std::uint64_t k = 0; k < entries; ++k) {
    if (cd_end - p < 46 || le32(z.data() + p) != kCentralSig)
      corrupt("bad central directory entry " + std::to_string(k));
    const char* c = z.data() + p;
    const unsigned flags = le16(c + 8), method = le16(c + 10);
    const std::uint32_t crc = le32(c + 16);
    std::uint64_t csize = le32(c + 20), usize = le32(c + 24), offset = le32(c + 42);
    const std::size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      corrupt("central directory entry " + std::to_string(k) + " runs past the directory");
    std::string name(c + 46, name_len);
    // Zip64 extended information: 64-bit values for the fields stored as 0xFFFFFFFF.
    const char* x = c + 46 + name_len;
    for (std::size_t q = 0; q + 4 <= extra_len;) {
      const unsigned id = le16(x + q), len = le16(x + q + 2);
      if (q + 4 + len > extra_len) corrupt("bad extra field in " + quote(name));
      if (id == 1) {
        std::size_t f = q + 4;
        for (std::uint64_t* field : {&usize, &csize, &offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (f + 8 > q + 4 + len) corrupt("short zip64 field in " + quote(name));
          *field = le64(x + f);
          f += 8;
        }
      }
      q += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    if (flags & 1) src.fail("zip record " + quote(name) + " is encrypted");
    const bool compressed = method != 0;
    if (compressed && !allow_compressed)
      src.fail("zip record " + quote(name) + " is compressed (method " + std::to_string(method) +
               "); torch.save writes stored records only");
    if (!compressed && csize != usize) corrupt("stored record " + quote(name) + " with two sizes");
    if (compressed) usize = csize;  // its bytes in the file
    if (offset > n || n - offset < 30)
      src.truncated("zip record " + quote(name) + " lies past the end of the file");
    const char* l = z.data() + offset;
    if (le32(l) != kLocalSig) corrupt("bad local header for " + quote(name));
    const std::uint64_t data_offset = offset + 30 + le16(l + 26) + le16(l + 28);
    if (data_offset > n || n - data_offset < usize)
      src.truncated("zip record " + quote(name) + " lies past the end of the file");
    if (!records.count(name)) order.push_back(name);
    records[name] = {
        z.substr(static_cast<std::size_t>(data_offset), static_cast<std::size_t>(usize)), crc,
        compressed};
  }
  return records;
}

std::string_view checked(const Source& src, const std::string& name, const ZipRecord& r) {
  if (!r.compressed && crc32(r.data.data(), r.data.size()) != r.crc)
    src.fail("zip record " + quote(name) + " fails its CRC-32 check (the file is damaged)");
  return r.data;
}

}  // namespace mura::weights::detail
