#include "mura/util/error.h"

#include <exception>

namespace mura {

std::string location(const std::string& file, std::size_t line) {
  if (line == 0) return file + ": ";
  return file + ":" + std::to_string(line) + ": ";
}

void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const std::exception& e) {
    throw Error(context + ": " + e.what());
  }
}

}  // namespace mura
