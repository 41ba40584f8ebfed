#pragma once
/// What every harness shares. A harness feeds one input to one of mura's readers and accepts
/// exactly one outcome besides success: mura::Error, the checked error that names the file
/// and what is wrong (exit 1 in the CLI). Anything else that escapes -- InternalError, a
/// std::exception from a dependency that no layer named, a crash, a sanitizer report, a
/// leak, a hang -- is a finding: it aborts, and libFuzzer keeps the input.
///
/// The same sources build two ways: with clang + libFuzzer (-DMURA_FUZZ=ON, `make fuzz`), and
/// in the normal build linked with replay_main.cpp, which runs the checked-in regression
/// inputs (tests/fuzz/<harness>/) under CTest.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "mura/util/error.h"

namespace mura::fuzz {

/// Runs `f`; returns normally for success or a mura::Error; aborts (a finding) otherwise.
template <class F>
void expect_checked(const char* what, F&& f) {
  try {
    f();
  } catch (const mura::Error& e) {
    if (std::string_view(e.what()).empty()) {
      std::fprintf(stderr, "FINDING (%s): mura::Error with an empty message\n", what);
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FINDING (%s): unchecked exception escaped: %s\n", what, e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "FINDING (%s): unknown exception escaped\n", what);
    std::abort();
  }
}

/// A scratch folder of this process (in /dev/shm when there is one: readers get real paths
/// without disk traffic), removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                     ? "/dev/shm"
                                     : std::filesystem::temp_directory_path();
    auto d = base / ("mura-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static struct Cleanup {
      std::filesystem::path p;
      ~Cleanup() {
        std::error_code e;
        std::filesystem::remove_all(p, e);
      }
    } cleanup{d};
    return d;
  }();
  return dir;
}

/// Writes the input to `name` in the scratch folder and returns its path.
inline std::filesystem::path as_file(const std::string& name, const std::uint8_t* data,
                                     std::size_t size) {
  const auto p = scratch() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p;
}

}  // namespace mura::fuzz
