// An LD_PRELOAD library that makes chosen file operations fail the way a cluster's disks do:
// a full disk (ENOSPC) or quota (EDQUOT) in the middle of a write, an I/O error (EIO) at
// fsync, a read-only file system (EROFS) at open, a failed rename. The fault-injection tests
// (tests/e2e/fault_test.cpp) run `mura` under it; mura itself is unchanged.
//
//   MURA_FAULT_PATH   substring of the path to fail (a temporary ".last.ckpt.tmp.*" of
//                     last.ckpt contains "last.ckpt")                        (required)
//   MURA_FAULT_OP     write | fsync | rename | open | kill                   (default write)
//                     kill: SIGKILL to the process once MURA_FAULT_AFTER bytes of the
//                     matching file were written (a kill at a known moment of a write)
//   MURA_FAULT_ERRNO  ENOSPC | EDQUOT | EIO | EROFS | EACCES                 (default ENOSPC)
//   MURA_FAULT_SKIP   matching files (or renames) let through first         (default 0)
//   MURA_FAULT_AFTER  bytes of a failing file written before the fault      (default 0)
// Each injected fault is announced on stderr once per file: "fault-inject: <op> <path>: <errno>".
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>

namespace {

constexpr int kMaxFd = 65536;
std::atomic<bool> g_fail_fd[kMaxFd];  // writes/fsyncs to this fd fail
std::atomic<long> g_written[kMaxFd];  // bytes let through on a failing fd
std::atomic<long> g_matches{0};       // matching files or renames seen
std::atomic<bool> g_announced[kMaxFd];

const char* env(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

bool matches(const char* path) {
  const char* want = getenv("MURA_FAULT_PATH");
  return want && *want && path && strstr(path, want);
}

bool op_is(const char* op) {
  return strcmp(env("MURA_FAULT_OP", "write"), op) == 0;
}

int fault_errno() {
  const char* e = env("MURA_FAULT_ERRNO", "ENOSPC");
  if (!strcmp(e, "EDQUOT")) return EDQUOT;
  if (!strcmp(e, "EIO")) return EIO;
  if (!strcmp(e, "EROFS")) return EROFS;
  if (!strcmp(e, "EACCES")) return EACCES;
  return ENOSPC;
}

/// Whether this matching file/rename is past MURA_FAULT_SKIP.
bool take_turn() {
  const long skip = atol(env("MURA_FAULT_SKIP", "0"));
  return g_matches.fetch_add(1) >= skip;
}

void announce(const char* op, const char* path) {
  char line[1024];
  const int n = snprintf(line, sizeof line, "fault-inject: %s %s: %s\n", op, path ? path : "?",
                         strerror(fault_errno()));
  if (n > 0) {
    static auto real_write =
        reinterpret_cast<ssize_t (*)(int, const void*, size_t)>(dlsym(RTLD_NEXT, "write"));
    real_write(2, line, static_cast<size_t>(n < (int)sizeof line ? n : (int)sizeof line - 1));
  }
}

/// announce() with the path behind a descriptor.
void announce_fd(const char* op, int fd) {
  char link[64], path[512] = {};
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = readlink(link, path, sizeof path - 1);
  announce(op, len > 0 ? path : "?");
}

/// A descriptor just opened: for "write", files opened for writing; for "fsync", the
/// read-only descriptor mura opens to fsync a finished file (each counts one turn).
void track(int fd, const char* path, bool writing) {
  if (fd < 0 || fd >= kMaxFd) return;
  g_fail_fd[fd] = false;
  g_written[fd] = 0;
  g_announced[fd] = false;
  const bool candidate = op_is("write") || op_is("kill") ? writing
                         : op_is("fsync")                ? !writing
                                                         : false;
  if (candidate && matches(path) && take_turn()) g_fail_fd[fd] = true;
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

int open_common(const char* name, int dirfd, const char* path, int flags, mode_t mode) {
  const bool writing = (flags & (O_WRONLY | O_RDWR)) != 0;
  if (writing && op_is("open") && matches(path) && take_turn()) {
    announce("open", path);
    errno = fault_errno();
    return -1;
  }
  int fd;
  if (dirfd == -100000)
    fd = real<int (*)(const char*, int, ...)>(name)(path, flags, mode);
  else
    fd = real<int (*)(int, const char*, int, ...)>(name)(dirfd, path, flags, mode);
  track(fd, path, writing);
  return fd;
}

}  // namespace

// The mode argument of open/open64/openat (present with O_CREAT): `mode`.
#define MURA_MODE_ARG(flags)                     \
  mode_t mode = 0;                               \
  if ((flags)&O_CREAT) {                         \
    va_list ap;                                  \
    va_start(ap, flags);                         \
    mode = static_cast<mode_t>(va_arg(ap, int)); \
    va_end(ap);                                  \
  }

extern "C" {

int open(const char* path, int flags, ...) {
  MURA_MODE_ARG(flags);
  return open_common("open", -100000, path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  MURA_MODE_ARG(flags);
  return open_common("open64", -100000, path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  MURA_MODE_ARG(flags);
  return open_common("openat", dirfd, path, flags, mode);
}

FILE* fopen(const char* path, const char* mode) {
  const bool writing = strpbrk(mode, "wa+") != nullptr;
  if (writing && op_is("open") && matches(path) && take_turn()) {
    announce("open", path);
    errno = fault_errno();
    return nullptr;
  }
  FILE* f = real<FILE* (*)(const char*, const char*)>("fopen")(path, mode);
  if (f) track(fileno(f), path, writing);
  return f;
}

FILE* fopen64(const char* path, const char* mode) {
  return fopen(path, mode);
}

ssize_t write(int fd, const void* buf, size_t n) {
  static auto real_write = real<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd >= 0 && fd < kMaxFd && g_fail_fd[fd] && op_is("kill")) {
    const long after = atol(env("MURA_FAULT_AFTER", "0"));
    const long done = g_written[fd];
    if (done + static_cast<long>(n) <= after) {
      const ssize_t w = real_write(fd, buf, n);
      if (w > 0) g_written[fd] += w;
      return w;
    }
    if (after > done) real_write(fd, buf, static_cast<size_t>(after - done));
    kill(getpid(), SIGKILL);
  }
  if (fd >= 0 && fd < kMaxFd && g_fail_fd[fd] && op_is("write")) {
    const long after = atol(env("MURA_FAULT_AFTER", "0"));
    const long done = g_written[fd];
    if (done < after) {  // a partial write first, as a disk filling up gives
      const size_t allowed =
          static_cast<size_t>(after - done) < n ? static_cast<size_t>(after - done) : n;
      const ssize_t w = real_write(fd, buf, allowed);
      if (w > 0) g_written[fd] += w;
      return w;
    }
    if (!g_announced[fd].exchange(true)) announce_fd("write", fd);
    errno = fault_errno();
    return -1;
  }
  return real_write(fd, buf, n);
}

// libstdc++'s filebuf writes large blocks with writev (xsputn_2).
ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real_writev = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (fd >= 0 && fd < kMaxFd && g_fail_fd[fd] && (op_is("write") || op_is("kill"))) {
    // one buffer at a time through write() above: the same partial-then-fail behaviour
    ssize_t total = 0;
    for (int i = 0; i < count; ++i) {
      const ssize_t w = write(fd, iov[i].iov_base, iov[i].iov_len);
      if (w < 0) return total > 0 ? total : -1;
      total += w;
      if (static_cast<size_t>(w) < iov[i].iov_len) break;
    }
    return total;
  }
  return real_writev(fd, iov, count);
}

int fsync(int fd) {
  static auto real_fsync = real<int (*)(int)>("fsync");
  if (fd >= 0 && fd < kMaxFd && g_fail_fd[fd] && op_is("fsync")) {
    announce_fd("fsync", fd);
    errno = fault_errno();
    return -1;
  }
  return real_fsync(fd);
}

int close(int fd) {
  static auto real_close = real<int (*)(int)>("close");
  if (fd >= 0 && fd < kMaxFd) g_fail_fd[fd] = false;
  return real_close(fd);
}

int rename(const char* from, const char* to) {
  static auto real_rename = real<int (*)(const char*, const char*)>("rename");
  if (op_is("rename") && (matches(to) || matches(from)) && take_turn()) {
    announce("rename", to);
    errno = fault_errno();
    return -1;
  }
  return real_rename(from, to);
}

}  // extern "C"
