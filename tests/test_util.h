#pragma once
// Helpers shared by mura's tests: temporary folders, tiny MURA layouts, running the CLI,
// substring and error-message assertions, skipping where an optional resource is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "test_paths.h"

namespace mura::test {

/// A fresh temporary folder, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

/// Writes text to a file (creating folders).
void write_text(const std::filesystem::path& file, const std::string& text);
/// Writes a small 8-bit gray PNG (a gradient seeded by `value`).
void write_png(const std::filesystem::path& file, int w = 24, int h = 20, int value = 0);
/// Writes any cv::Mat with cv::imwrite (PNG/JPEG by extension).
void write_image(const std::filesystem::path& file, const cv::Mat& img);

/// One study of a hand-built MURA layout.
struct StudySpec {
  std::string split;    // "train" / "valid"
  std::string part;     // "XR_WRIST"
  std::string patient;  // "patient00001"
  std::string study;    // "study1_positive"
  int label;            // label written to the CSV
  int images = 2;
};

/// Writes images and (when `csv`) the four CSVs for `studies` under root/<name>.
/// Returns the root path.
std::filesystem::path make_layout(const std::filesystem::path& parent, const std::string& name,
                                  const std::vector<StudySpec>& studies, bool csv = true);

struct CommandResult {
  int exit_code;
  std::string out;  // stdout and stderr together
};
/// Runs a shell command, capturing stdout+stderr.
CommandResult run_command(const std::string& command);
/// Runs the `mura` executable with the given argument string.
CommandResult run_mura(const std::string& args);

/// Whether `s` contains `part`. A failed EXPECT_TRUE(contains(...)) prints both strings (and
/// a failed EXPECT_FALSE where `part` was found); in an `if` it reads as a bool.
::testing::AssertionResult contains(const std::string& s, const std::string& part);

/// Runs `f` and succeeds when it throws a mura::Error whose message contains every one of
/// `parts`; fails (saying what happened instead) when it throws nothing, throws another
/// exception, or the message lacks a part. Use it through EXPECT_ERROR_CONTAINS.
::testing::AssertionResult throws_error_containing(const std::function<void()>& f,
                                                   std::initializer_list<std::string> parts);

/// The message of the mura::Error that `f` throws; "(no error)" when it throws nothing and
/// "(not a mura::Error: ...)" for another exception, so that EXPECT_EQ with the exact
/// expected message fails in either case.
std::string error_message(const std::function<void()>& f);

/// A folder that `make` fills once and every test process of this build then shares:
/// CTest runs each test in a process of its own, so a suite's SetUpTestSuite that trains a
/// model would otherwise train it again for every test. The folder is
/// <build>/test-fixtures/<name>; it is made again (emptied first) when it is older than the
/// mura executable or the test executable, or was left unfinished. Processes asking at the
/// same time wait for the one making it (flock). `make` reports failures with ASSERT/EXPECT;
/// after a failure the folder is not marked finished and the caller's test fails. Tests read
/// it only: what they write goes to a TempDir of their own.
std::filesystem::path shared_fixture(const std::string& name,
                                     const std::function<void(const std::filesystem::path&)>& make);

/// ../shared/data/<name>: the real radiographs beside the checkout (MURA_SHARED_DATA).
std::filesystem::path shared_data(const std::string& name);
/// Why a test that needs shared_data(name) must skip: "" when that folder is there.
/// Use: if (const auto why = test::shared_data_absent("x"); !why.empty()) GTEST_SKIP() << why;
std::string shared_data_absent(const std::string& name);

}  // namespace mura::test

/// Expects `statement` to throw a mura::Error whose message contains each substring given.
#define EXPECT_ERROR_CONTAINS(statement, ...)                                           \
  EXPECT_TRUE(::mura::test::throws_error_containing([&] { statement; }, {__VA_ARGS__})) \
      << "statement: " #statement
/// The same as a fatal assertion.
#define ASSERT_ERROR_CONTAINS(statement, ...)                                           \
  ASSERT_TRUE(::mura::test::throws_error_containing([&] { statement; }, {__VA_ARGS__})) \
      << "statement: " #statement
