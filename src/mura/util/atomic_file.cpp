#include "mura/util/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "mura/util/error.h"

namespace mura {
namespace fs = std::filesystem;

namespace {

/// fsync of a file or folder; the error (EIO, ENOSPC on a delayed allocation, EDQUOT on NFS)
/// is returned, not ignored: a rename after a failed fsync could publish a file whose data
/// never reached the disk.
int fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return directory ? 0 : errno;  // some file systems cannot open folders
  int err = 0;
  if (::fsync(fd) != 0 && !(directory && (errno == EINVAL || errno == EBADF))) err = errno;
  ::close(fd);
  return err;
}

const std::string kTempMark = ".tmp.";

const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string("host");
    std::string n(buf);
    for (char& c : n)
      if (c == '/' || c == '.') c = '_';
    return n;
  }();
  return name;
}

fs::path temp_path_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  return target.parent_path() /
         ("." + target.filename().string() + kTempMark + std::to_string(::getpid()) + "." +
          std::to_string(counter++) + "." + host_name());
}

/// Removes temporary files in `dir` left by processes of this host that no longer run (a
/// SIGKILL or a power cut between open and rename): ".<name>.tmp.<pid>.<n>.<host>" whose pid
/// is gone. A running process's (even another user's: EPERM) and other hosts' are kept.
void remove_stale_temps(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto mark = name.rfind(kTempMark);
    if (name.empty() || name[0] != '.' || mark == std::string::npos) continue;
    const std::string rest = name.substr(mark + kTempMark.size());  // <pid>.<n>.<host>
    const auto dot1 = rest.find('.');
    const auto dot2 = dot1 == std::string::npos ? dot1 : rest.find('.', dot1 + 1);
    if (dot2 == std::string::npos || rest.substr(dot2 + 1) != host_name()) continue;
    char* stop = nullptr;
    const long pid = std::strtol(rest.c_str(), &stop, 10);
    if (pid <= 0 || stop != rest.c_str() + dot1 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    fs::remove(it->path(), rm);
  }
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& fill) {
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create folder " + parent.string() + ": " + ec.message());
  const fs::path target = path.has_parent_path() ? path : fs::path(".") / path;
  const fs::path tmp = temp_path_for(target);
  // Every failure names the file the caller asked for (the temporary is an implementation
  // detail) and the system's reason; the target keeps its previous content.
  auto fail = [&](const std::string& what, int err) {
    throw Error("cannot write " + path.string() + ": " + what +
                (err ? std::string(": ") + std::strerror(err) : std::string()) +
                " (the previous file, if any, is unchanged)");
  };
  try {
    {
      errno = 0;
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) fail("cannot create a file in " + parent.string(), errno);
      fill(out);
      out.flush();
      if (!out) fail("writing failed", errno);
      out.close();
      if (!out) fail("closing failed", errno);
    }
    if (const int err = fsync_path(tmp, false)) fail("fsync failed", err);
    fs::rename(tmp, path, ec);
    if (ec) fail("renaming the finished temporary file failed", ec.value());
    if (const int err = fsync_path(parent, true)) fail("fsync of its folder failed", err);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  remove_stale_temps(target.parent_path());
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  });
}

void ensure_writable_dir(const fs::path& dir, const std::string& flag) {
  const std::string where = flag + " " + dir.string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(where + ": cannot create the folder: " + ec.message());
  if (!fs::is_directory(dir, ec)) throw Error(where + ": not a folder");
  const fs::path probe =
      dir / (".mura-write-test." + std::to_string(::getpid()) + "." + host_name());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) throw Error(where + ": cannot write there: " + std::strerror(errno));
  ::close(fd);
  fs::remove(probe, ec);
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
