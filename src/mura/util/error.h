#pragma once
/// Errors: the caller's mistake (mura::Error) versus a bug in mura (mura::InternalError).
///
/// Library code never prints and never exits. Bad input -- a missing or corrupt file, a
/// malformed CSV line, a wrong flag value -- throws an Error whose what() is a complete,
/// user-facing sentence naming what is at fault (file and line, CSV key, flag); the `mura`
/// executable prints it and exits 1. A broken invariant -- something no input should be able
/// to cause -- throws an InternalError (exit 3, "internal error ... please report"), the
/// TORCH_CHECK / TORCH_INTERNAL_ASSERT split of PyTorch's c10/util/Exception.h.
///
/// Context is added at each layer boundary: rethrow_with_context keeps the kind and puts
/// "what mura was doing: " in front; at_boundary also turns foreign exceptions (OpenCV's
/// cv::Exception, c10::Error, std::bad_alloc, ...) into mura's kinds, naming the work.
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace mura {

/// Bad input: the message names the file/line/flag at fault. Exit code 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A broken invariant inside mura (a bug): exit code 3 with "please report".
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

/// "file:line: " (or "file: " when line is 0): the prefix every located message starts with.
std::string location(const std::string& file, std::size_t line = 0);

/// Re-throws the exception in flight with "context: " in front of its message: an Error
/// stays an Error, an InternalError stays one, anything else becomes an InternalError
/// (with std::bad_alloc as an Error: out of memory is the machine's limit, not a bug).
[[noreturn]] void rethrow_with_context(const std::string& context);

/// Runs `f`; whatever it throws is re-thrown through rethrow_with_context(doing). The app
/// layer wraps each composition in it, so a c10 or OpenCV message reaches the user as
/// "evaluating run/best.ckpt: <their message>" with the right exit code.
template <class F>
auto at_boundary(const std::string& doing, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    rethrow_with_context(doing);
  }
}

namespace detail {
[[noreturn]] void fail_check(const std::string& message);
[[noreturn]] void fail_assert(const char* condition, const char* file, int line,
                              const std::string& message);
}  // namespace detail

}  // namespace mura

/// MURA_CHECK(cond, message): the caller's input is bad -> mura::Error(message).
#define MURA_CHECK(cond, ...)                                          \
  do {                                                                 \
    if (!(cond)) ::mura::detail::fail_check(std::string(__VA_ARGS__)); \
  } while (0)

/// MURA_ASSERT(cond, message): an invariant of mura's own code -> mura::InternalError
/// naming the condition and the source line.
#define MURA_ASSERT(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond)) ::mura::detail::fail_assert(#cond, __FILE__, __LINE__, std::string(__VA_ARGS__)); \
  } while (0)
