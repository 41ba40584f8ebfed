#include "mura/weights/pth_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>
#include <system_error>

#include "mura/util/error.h"
#include "mura/weights/parse_util.h"
#include "mura/weights/pickle_value.h"
#include "mura/weights/pth_legacy.h"
#include "mura/weights/unpickler.h"
#include "mura/weights/zip_reader.h"

namespace mura::weights {
namespace {

namespace fs = std::filesystem;
using namespace detail;

// ---------------------------------------------------------------- zip container

PthFile read_zip_pth(const Source& src, std::string_view bytes, std::uint64_t max_bytes) {
  std::vector<std::string> order;
  const auto records = read_zip(src, bytes, order);
  std::string prefix;
  for (const std::string& name : order) {
    const std::size_t slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = name.substr(0, slash);
      break;
    }
  }
  if (prefix.empty())
    src.fail("not a PyTorch .pth file: a zip archive without a <name>/data.pkl record");
  if (const auto it = records.find(prefix + "/byteorder"); it != records.end()) {
    if (checked(src, it->first, it->second) != "little")
      src.fail("big-endian torch files are not supported");
  }
  const std::string pkl_name = prefix + "/data.pkl";
  const std::string_view pkl = checked(src, pkl_name, records.at(pkl_name));

  Arena arena;
  Tables tables;
  const Unpickled top = unpickle(
      src, arena, pkl, 0, pkl_name,
      [&](const Value* pid, std::size_t at) {
        return load_storage(src, arena, tables, pkl_name, pid, at);
      },
      tables);
  const Value* dict = select_state_dict(src, top.value);

  for (StorageInfo& st : tables.storages) {
    const std::string name = prefix + "/data/" + st.key;
    const auto it = records.find(name);
    if (it == records.end()) src.fail("storage record " + quote(name) + " is missing");
    const std::string_view data = checked(src, name, it->second);
    if (data.size() / st.elsize < static_cast<std::uint64_t>(st.numel))
      src.fail("storage record " + quote(name) + " holds " + std::to_string(data.size()) +
               " bytes, but data.pkl says " + std::to_string(st.numel) + " elements of " +
               std::to_string(st.elsize) + " bytes");
    st.bytes = data;
    st.has_bytes = true;
  }
  return {PthFormat::Zip, collect(src, tables, dict, max_bytes)};
}

// ---------------------------------------------------------------- dispatch

std::string first_bytes(std::string_view b) {
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < 8; ++i)
    s += (i ? " " : "") + hex(static_cast<unsigned char>(b[i]));
  return s;
}

PthFile parse(std::string_view bytes, const std::string& name) {
  const Source src{name};
  try {
    if (bytes.empty()) src.fail("empty file (0 bytes): not a PyTorch .pth file");
    const std::uint64_t max_bytes =
        std::max<std::uint64_t>(1ull << 30, 4 * static_cast<std::uint64_t>(bytes.size()));
    constexpr std::string_view kZip("PK\x03\x04", 4);
    if (bytes.substr(0, 4) == kZip || bytes.substr(0, 4) == std::string_view("PK\x05\x06", 4))
      return read_zip_pth(src, bytes, max_bytes);
    if (static_cast<unsigned char>(bytes[0]) == 0x80) return read_legacy_pth(src, bytes, max_bytes);
    if (bytes.size() < 4 && kZip.substr(0, bytes.size()) == bytes)
      src.truncated("only " + std::to_string(bytes.size()) + " bytes of a zip archive");
    std::string kind;
    if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
      kind = ", a PNG image";
    else if (bytes.substr(0, 3) == std::string_view("\xff\xd8\xff", 3))
      kind = ", a JPEG image";
    else if (bytes.size() > 262 && bytes.substr(257, 5) == "ustar")
      kind = ", a tar archive (PyTorch's pre-0.1.10 format is not supported)";
    src.fail("not a PyTorch .pth file (it starts with bytes " + first_bytes(bytes) + kind +
             "; expected a zip archive or a pickle stream)");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Safety net: a LibTorch or allocation error still names the file.
    throw Error(location(name) + e.what());
  }
}

}  // namespace

PthFile read_pth(const fs::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status))
    throw Error(location(name) +
                "cannot read: " + (ec ? ec.message() : std::string("no such file")));
  if (fs::is_directory(status)) throw Error(location(name) + "cannot read: it is a folder");
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw Error(location(name) + "cannot open: " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(location(name) + "cannot read its size");
  in.seekg(0);
  // One pass into an uninitialised buffer (operator new aligns it for any element type).
  const auto n = static_cast<std::size_t>(size);
  std::unique_ptr<char[]> buffer(new char[n ? n : 1]);
  if (!in.read(buffer.get(), static_cast<std::streamsize>(n)) ||
      in.gcount() != static_cast<std::streamsize>(n))
    throw Error(location(name) + "cannot read " + std::to_string(n) +
                " bytes: " + std::strerror(errno));
  return parse(std::string_view(buffer.get(), n), name);
}

PthFile read_pth_bytes(const std::string& bytes, const std::string& name) {
  return parse(bytes, name);
}

}  // namespace mura::weights
