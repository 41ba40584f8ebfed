#include "mura/util/error.h"

#include <exception>
#include <filesystem>
#include <new>

namespace mura {

std::string location(const std::string& file, std::size_t line) {
  if (line == 0) return file + ": ";
  return file + ":" + std::to_string(line) + ": ";
}

void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const Error& e) {
    throw Error(context + ": " + e.what());
  } catch (const InternalError& e) {
    throw InternalError(context + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(context + ": out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    // a folder that cannot be made or read: the user's path, named in the message
    throw Error(context + ": " + e.what());
  } catch (const std::exception& e) {
    // OpenCV's cv::Exception, c10::Error, std::filesystem_error ...: a library below mura
    // refused something mura handed it; mura should have checked first, so it is mura's bug
    // unless a layer below already turned it into an Error.
    throw InternalError(context + ": " + e.what());
  } catch (...) {
    throw InternalError(context + ": unknown exception");
  }
}

namespace detail {

void fail_check(const std::string& message) {
  throw Error(message);
}

void fail_assert(const char* condition, const char* file, int line, const std::string& message) {
  throw InternalError(std::string(file) + ":" + std::to_string(line) + ": assertion '" + condition +
                      "' failed" + (message.empty() ? "" : ": " + message));
}

}  // namespace detail

}  // namespace mura
