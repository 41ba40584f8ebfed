#include "test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <stdexcept>

namespace mura::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "mura-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream f(file, std::ios::binary);
  f << text;
}

void write_image(const fs::path& file, const cv::Mat& img) {
  fs::create_directories(file.parent_path());
  if (!cv::imwrite(file.string(), img)) throw std::runtime_error("cannot write " + file.string());
}

void write_png(const fs::path& file, int w, int h, int value) {
  cv::Mat img(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at<unsigned char>(y, x) = static_cast<unsigned char>((x * 7 + y * 3 + value) & 255);
  write_image(file, img);
}

fs::path make_layout(const fs::path& parent, const std::string& name,
                     const std::vector<StudySpec>& studies, bool csv) {
  const fs::path root = parent / name;
  fs::create_directories(root);
  std::string images[2], labels[2];
  int v = 0;
  for (const auto& s : studies) {
    const int k = s.split == "valid" ? 1 : 0;
    const std::string rel = s.split + "/" + s.part + "/" + s.patient + "/" + s.study + "/";
    for (int i = 1; i <= s.images; ++i) {
      write_png(root / (rel + "image" + std::to_string(i) + ".png"), 24, 20, v++);
      images[k] += name + "/" + rel + "image" + std::to_string(i) + ".png\n";
    }
    labels[k] += name + "/" + rel + "," + std::to_string(s.label) + "\n";
  }
  if (csv) {
    write_text(root / "train_image_paths.csv", images[0]);
    write_text(root / "train_labeled_studies.csv", labels[0]);
    write_text(root / "valid_image_paths.csv", images[1]);
    write_text(root / "valid_labeled_studies.csv", labels[1]);
  }
  return root;
}

CommandResult run_command(const std::string& command) {
  const std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

CommandResult run_mura(const std::string& args) {
  return run_command(std::string("'") + MURA_BINARY + "' " + args);
}

}  // namespace mura::test
