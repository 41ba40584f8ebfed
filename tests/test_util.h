#pragma once
// Helpers shared by mura's tests: temporary folders, tiny MURA layouts, running the CLI.
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

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

}  // namespace mura::test
