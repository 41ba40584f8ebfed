#include "mura/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mura/util/error.h"

namespace mura {
namespace fs = std::filesystem;

namespace {

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort for directories on exotic file systems
  ::fsync(fd);
  ::close(fd);
}

fs::path temp_path_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  return target.parent_path() / ("." + target.filename().string() + ".tmp." +
                                 std::to_string(::getpid()) + "." + std::to_string(counter++));
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create folder " + parent.string() + ": " + ec.message());
  const fs::path tmp = temp_path_for(path.has_parent_path() ? path : fs::path(".") / path);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error("cannot write " + tmp.string() + ": " + std::strerror(errno));
      fill(out);
      out.flush();
      if (!out) throw Error("write failed for " + tmp.string() + ": " + std::strerror(errno));
    }
    fsync_path(tmp, false);
    fs::rename(tmp, path, ec);
    if (ec)
      throw Error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
    fsync_path(parent, true);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("cannot read " + path.string());
  return ss.str();
}

}  // namespace mura
