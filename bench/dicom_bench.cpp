// DICOM decoding throughput: how many images per second mura turns from files on disk into
// the normalised [3,size,size] float input the models take, for DICOM files (uncompressed or
// JPEG 2000) and for PNGs, through the same calls every command uses (data::load_gray: the
// reader picked from the bytes, GDCM decoding, mura's PS3.4 grayscale pipeline; then the
// seeds' evaluation transforms: resize, ImageNet normalisation to 3 planes).
//
//   mura_bench_dicom --list FILE --label NAME [--size 224] [--threads 1] [--repeats 3]
//
// FILE has one image path a line. The files are split across --threads threads (each takes
// the next file from a shared counter, as the loader's workers do). Every repeat reads every
// file; the best repeat is printed as one JSON line on stdout:
//   {"impl": "mura", "label": NAME, "images": N, "seconds": S, "images_per_s": R}
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <opencv2/core.hpp>
#include <string>
#include <thread>
#include <vector>

#include "mura/data/image.h"
#include "mura/data/transforms.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* kUsage =
    "usage: mura_bench_dicom --list FILE --label NAME [--size 224] [--threads 1] [--repeats 3]\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "mura_bench_dicom: " << what << "\n" << kUsage;
  std::exit(2);
}

int positive_int(const std::string& flag, const std::string& v) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  usage_error(flag + " wants a positive integer, got '" + v + "'");
}

}  // namespace

int main(int argc, char** argv) {
  fs::path list;
  std::string label;
  int size = 224, threads = 1, repeats = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) usage_error(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--list")
      list = v;
    else if (a == "--label")
      label = v;
    else if (a == "--size")
      size = positive_int(a, v);
    else if (a == "--threads")
      threads = positive_int(a, v);
    else if (a == "--repeats")
      repeats = positive_int(a, v);
    else
      usage_error("unknown flag " + a);
  }
  if (list.empty() || label.empty()) usage_error("--list and --label are required");
  std::vector<fs::path> files;
  {
    std::ifstream in(list);
    if (!in) usage_error("cannot read " + list.string());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) files.emplace_back(line);
  }
  if (files.empty()) usage_error(list.string() + " lists no file");

  cv::setNumThreads(1);  // one image per thread, as the loader's workers decode
  const auto options = mura::data::TransformOptions::evaluation(size);
  double best = 1e300;
  std::atomic<double> checksum{0.0};
  for (int r = 0; r < repeats; ++r) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        std::vector<float> out(3 * static_cast<std::size_t>(size) * size);
        double sum = 0;
        try {
          for (std::size_t i = next++; i < files.size() && !failed; i = next++) {
            const cv::Mat gray = mura::data::load_gray(files[i]);
            mura::data::normalize_into(mura::data::resize_square(gray, size), options, out.data());
            sum += out[out.size() / 2];  // keeps the work observable
          }
        } catch (...) {
          if (!failed.exchange(true)) failure = std::current_exception();
        }
        double cur = checksum.load();
        while (!checksum.compare_exchange_weak(cur, cur + sum)) {
        }
      });
    for (auto& t : pool) t.join();
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        std::cerr << "mura_bench_dicom: " << e.what() << "\n";
        return 1;
      }
    }
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::cout << "{\"impl\": \"mura\", \"label\": \"" << label << "\", \"images\": " << files.size()
            << ", \"threads\": " << threads << ", \"seconds\": " << best
            << ", \"images_per_s\": " << files.size() / best << "}\n";
  std::cerr << "# checksum " << checksum.load() << "\n";
  return 0;
}
