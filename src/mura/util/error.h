#pragma once
/// mura::Error: the one exception type the library throws.
///
/// Library code never prints and never exits: it throws an Error whose what() is a complete,
/// user-facing sentence naming what is at fault (file and line, CSV key, flag). Code that
/// catches a lower-level error and re-throws adds its context in front (see with_context).
/// The `mura` executable catches once in main(), prints the message, returns non-zero.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace mura {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// "file:line: " (or "file: " when line is 0): the prefix every located message starts with.
std::string location(const std::string& file, std::size_t line = 0);

/// Re-throws the exception in flight as an Error whose message is "context: <original>".
[[noreturn]] void rethrow_with_context(const std::string& context);

}  // namespace mura
