#include "test_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <stdexcept>

#include "mura/util/error.h"

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
    for (int x = 0; x < w; ++x)
      img.at<unsigned char>(y, x) = static_cast<unsigned char>((x * 7 + y * 3 + value) & 255);
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

namespace {

/// `s` for a failure message: whole when short, else its first 3,000 characters.
std::string shown(const std::string& s) {
  constexpr std::size_t kMax = 3000;
  if (s.size() <= kMax) return s;
  return s.substr(0, kMax) + "\n[... " + std::to_string(s.size()) + " characters in all]";
}

}  // namespace

::testing::AssertionResult contains(const std::string& s, const std::string& part) {
  const auto at = s.find(part);
  if (at == std::string::npos)
    return ::testing::AssertionFailure() << "'" << part << "' is not in:\n" << shown(s);
  const std::size_t from = at > 200 ? at - 200 : 0;
  return ::testing::AssertionSuccess()
         << "'" << part << "' is at offset " << at << " of " << s.size() << " characters: ..."
         << s.substr(from, at - from + part.size() + 200) << "...";
}

::testing::AssertionResult throws_error_containing(const std::function<void()>& f,
                                                   std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& part : parts)
      if (what.find(part) == std::string::npos)
        return ::testing::AssertionFailure()
               << "the mura::Error's message lacks '" << part << "': " << what;
    return ::testing::AssertionSuccess() << "threw a mura::Error: " << what;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "threw another exception than mura::Error: " << e.what();
  } catch (...) {
    return ::testing::AssertionFailure() << "threw something that is not a std::exception";
  }
  return ::testing::AssertionFailure() << "threw no error";
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a mura::Error: ") + e.what() + ")";
  }
  return "(no error)";
}

namespace {
/// What a shared fixture depends on: the mura executable and this test executable.
std::string fixture_key() {
  std::string key;
  for (const fs::path& p : {fs::path(MURA_BINARY), fs::read_symlink("/proc/self/exe")}) {
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    key += p.string() + " " + (ec ? "?" : std::to_string(t.time_since_epoch().count())) + "\n";
  }
  return key;
}
}  // namespace

fs::path shared_fixture(const std::string& name, const std::function<void(const fs::path&)>& make) {
  const fs::path root = fs::path(MURA_BINARY).parent_path() / "test-fixtures";
  fs::create_directories(root);
  const fs::path dir = root / name, stamp = root / (name + ".done");
  const int lock = ::open((root / (name + ".lock")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + name);
  const std::string key = fixture_key();
  std::string have;
  if (std::ifstream f(stamp); f) have.assign(std::istreambuf_iterator<char>(f), {});
  if (have != key || !fs::is_directory(dir)) {
    fs::remove(stamp);
    fs::remove_all(dir);
    fs::create_directories(dir);
    make(dir);
    if (!::testing::Test::HasFailure()) write_text(stamp, key);
  }
  ::close(lock);  // releases the flock
  return dir;
}

fs::path shared_data(const std::string& name) {
  return (fs::path(MURA_SHARED_DATA) / name).lexically_normal();
}

std::string shared_data_absent(const std::string& name) {
  const fs::path dir = shared_data(name);
  if (fs::is_directory(dir)) return "";
  return dir.string() +
         " is absent on this machine: this test needs the real radiographs in "
         "../shared/data beside the checkout";
}

}  // namespace mura::test
