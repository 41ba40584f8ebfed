// Loader throughput benchmark: how many training images per second mura::data::Loader
// delivers, as [B,3,size,size] normalised float batches with the seeds' training
// augmentation (flip + rotation of 10 degrees), shuffled.
//
//   mura_bench_loader --data-dir D [--split train] [--size 224] [--batch-size 32]
//                     [--workers 2] [--prefetch 4] [--limit N] [--epochs 2]
//                     [--modes files,cache,disk,stages] [--cache-dir DIR]
//                     [--list-out FILE] [--list-only]
//
// Modes (one JSON line per measurement on stdout):
//   files       one full epoch with CacheMode::None: read + decode + resize + augment +
//               normalise + batch. Loader construction (thread start) is included.
//   cache       CacheMode::Memory: epoch 0 fills the cache ("cache-fill"), the best of
//               epochs 1..E-1 is reported as "cache" (augmentation still runs per epoch).
//   disk        CacheMode::Disk in --cache-dir: a first loader fills and saves the cache
//               file; a second loader (as a second run would) is constructed, which loads
//               the file, and runs one epoch: "disk-warm" (construction included).
//   stages      single-threaded time per image of each step (read, decode, resize,
//               augment, normalise), to see where the time goes; one line per stage.
//
// --list-out FILE writes the absolute paths of the benchmarked images, one a line (the
// Python peer reads the same list); --list-only writes it and measures nothing.
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <limits>
#include <opencv2/core.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/data/image.h"
#include "mura/data/loader.h"
#include "mura/data/transforms.h"
#include "mura/util/error.h"

namespace fs = std::filesystem;
using mura::data::CacheMode;
using mura::data::Loader;
using mura::data::LoaderOptions;
using mura::data::Sample;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  fs::path data_dir;
  std::string split = "train";
  int size = 224;
  int batch_size = 32;
  int workers = 2;
  int prefetch = 4;
  long limit = -1;
  int epochs = 2;
  std::set<std::string> modes{"files", "cache"};
  fs::path cache_dir;
  fs::path list_out;
  bool list_only = false;
};

const char* kUsage =
    "usage: mura_bench_loader --data-dir D [--split train|valid] [--size 224]\n"
    "         [--batch-size 32] [--workers 2] [--prefetch 4] [--limit N] [--epochs 2]\n"
    "         [--modes files,cache,disk,stages] [--cache-dir DIR]\n"
    "         [--list-out FILE] [--list-only]\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "mura_bench_loader: " << what << "\n" << kUsage;
  std::exit(2);
}

long parse_long(const std::string& flag, const std::string& v, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi)
    usage_error(flag + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "], got '" + v + "'");
  return x;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (flag == "--list-only") {
      a.list_only = true;
      continue;
    }
    if (i + 1 >= argc) usage_error(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--data-dir")
      a.data_dir = v;
    else if (flag == "--split")
      a.split = v;
    else if (flag == "--size")
      a.size = static_cast<int>(parse_long(flag, v, 8, 4096));
    else if (flag == "--batch-size")
      a.batch_size = static_cast<int>(parse_long(flag, v, 1, 1 << 16));
    else if (flag == "--workers")
      a.workers = static_cast<int>(parse_long(flag, v, 0, 256));
    else if (flag == "--prefetch")
      a.prefetch = static_cast<int>(parse_long(flag, v, 1, 1024));
    else if (flag == "--limit")
      a.limit = parse_long(flag, v, 1, std::numeric_limits<long>::max());
    else if (flag == "--epochs")
      a.epochs = static_cast<int>(parse_long(flag, v, 2, 1000));
    else if (flag == "--cache-dir")
      a.cache_dir = v;
    else if (flag == "--list-out")
      a.list_out = v;
    else if (flag == "--modes") {
      a.modes.clear();
      std::stringstream ss(v);
      std::string m;
      while (std::getline(ss, m, ',')) {
        if (m.empty()) continue;
        if (m != "files" && m != "cache" && m != "disk" && m != "stages")
          usage_error("unknown mode '" + m + "' (expected files, cache, disk, stages)");
        a.modes.insert(m);
      }
    } else {
      usage_error("unknown flag '" + flag + "'");
    }
  }
  if (a.data_dir.empty()) usage_error("--data-dir is required");
  if (a.modes.count("disk") && a.cache_dir.empty()) usage_error("mode 'disk' needs --cache-dir");
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Common {
  std::string split;
  int size, batch_size, workers;
};

void emit(const Common& c, const std::string& mode, std::size_t images, double seconds,
          const std::string& extra = "") {
  std::printf(
      "{\"impl\":\"mura\",\"mode\":\"%s\",\"split\":\"%s\",\"images\":%zu,\"size\":%d,"
      "\"batch_size\":%d,\"workers\":%d,\"seconds\":%.4f,\"images_per_s\":%.1f%s}\n",
      mode.c_str(), c.split.c_str(), images, c.size, c.batch_size, c.workers, seconds,
      seconds > 0 ? static_cast<double>(images) / seconds : 0.0, extra.c_str());
  std::fflush(stdout);
}

// Drains one epoch; returns the number of images delivered. Touches every batch tensor's
// size so the consumer is not optimised away (the work is done by the workers anyway).
std::size_t run_epoch(Loader& loader, std::uint64_t epoch) {
  loader.start_epoch(epoch);
  std::size_t n = 0;
  while (auto b = loader.next()) {
    if (b->images.size(0) != static_cast<std::int64_t>(b->size()))
      throw mura::Error("batch of inconsistent size");
    n += b->size();
  }
  if (n != loader.size())
    throw mura::Error("epoch delivered " + std::to_string(n) + " of " +
                      std::to_string(loader.size()) + " images");
  return n;
}

LoaderOptions loader_options(const Args& a, CacheMode cache) {
  LoaderOptions o;
  o.batch_size = a.batch_size;
  o.workers = a.workers;
  o.prefetch = a.prefetch;
  o.shuffle = true;
  o.drop_last = false;  // every image, like the peer's DataLoader(drop_last=False)
  o.transform = mura::data::TransformOptions::training(a.size);
  o.cache = cache;
  if (!a.cache_dir.empty()) o.cache_dir = a.cache_dir;
  return o;
}

void bench_files(const Args& a, const Common& c, const std::vector<Sample>& samples) {
  const auto t0 = Clock::now();
  Loader loader(samples, loader_options(a, CacheMode::None));
  const std::size_t n = run_epoch(loader, 0);
  emit(c, "files", n, seconds_since(t0));
}

void bench_cache(const Args& a, const Common& c, const std::vector<Sample>& samples) {
  auto t0 = Clock::now();
  Loader loader(samples, loader_options(a, CacheMode::Memory));
  std::size_t n = run_epoch(loader, 0);
  emit(c, "cache-fill", n, seconds_since(t0));
  if (!loader.cache_complete()) throw mura::Error("memory cache incomplete after epoch 0");
  double best = std::numeric_limits<double>::infinity();
  for (int e = 1; e < a.epochs; ++e) {
    const std::size_t decoded = loader.decoded_count();
    t0 = Clock::now();
    n = run_epoch(loader, static_cast<std::uint64_t>(e));
    best = std::min(best, seconds_since(t0));
    if (loader.decoded_count() != decoded)
      throw mura::Error("epoch " + std::to_string(e) + " decoded files despite a full cache");
  }
  emit(c, "cache", n, best, ",\"epochs_timed\":" + std::to_string(a.epochs - 1));
}

void bench_disk(const Args& a, const Common& c, const std::vector<Sample>& samples) {
  // cache_file() depends on the samples, size and cache_dir only, not on the cache mode
  const fs::path file = [&] {
    LoaderOptions o = loader_options(a, CacheMode::None);
    o.workers = 0;
    return Loader(samples, o).cache_file();
  }();
  std::error_code ec;
  fs::remove(file, ec);  // start cold even if an earlier run left the file
  {  // first run: fills the cache; the file is written when the complete epoch ends
    Loader cold(samples, loader_options(a, CacheMode::Disk));
    run_epoch(cold, 0);
    if (!fs::exists(file)) throw mura::Error("disk cache was not written: " + file.string());
  }
  // second run: construction reads the file, then one epoch from it
  const auto t0 = Clock::now();
  Loader warm(samples, loader_options(a, CacheMode::Disk));
  const double load_s = seconds_since(t0);
  if (!warm.cache_complete()) throw mura::Error("disk cache not loaded: " + file.string());
  const std::size_t n = run_epoch(warm, 0);
  if (warm.decoded_count() != 0) throw mura::Error("warm disk run decoded files");
  char extra[96];
  std::snprintf(extra, sizeof extra, ",\"cache_load_s\":%.4f,\"cache_bytes\":%llu", load_s,
                static_cast<unsigned long long>(fs::file_size(file)));
  emit(c, "disk-warm", n, seconds_since(t0), extra);
}

// Single-threaded per-stage timing over the samples, to see where the time goes.
void bench_stages(const Args& a, const Common& c, const std::vector<Sample>& samples) {
  using namespace mura::data;
  cv::setNumThreads(0);  // one thread, as inside a loader worker
  const Common one{c.split, c.size, c.batch_size, 0};
  const TransformOptions t = TransformOptions::training(a.size);
  double read_s = 0, decode_s = 0, resize_s = 0, augment_s = 0, normalize_s = 0;
  std::vector<float> out(3 * static_cast<std::size_t>(a.size) * a.size);
  double checksum = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    auto t0 = Clock::now();
    std::ifstream in(samples[i].file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    read_s += seconds_since(t0);
    t0 = Clock::now();
    const cv::Mat gray = decode_gray(bytes, samples[i].file.string());
    decode_s += seconds_since(t0);
    t0 = Clock::now();
    const cv::Mat resized = resize_square(gray, a.size);
    resize_s += seconds_since(t0);
    t0 = Clock::now();
    const cv::Mat aug = augment(resized, t, sample_seed(42, 0, i));
    augment_s += seconds_since(t0);
    t0 = Clock::now();
    normalize_into(aug, t, out.data());
    normalize_s += seconds_since(t0);
    checksum += out[out.size() / 2];
  }
  const std::size_t n = samples.size();
  const std::pair<const char*, double> stages[] = {{"read", read_s},
                                                   {"decode", decode_s},
                                                   {"resize", resize_s},
                                                   {"augment", augment_s},
                                                   {"normalize", normalize_s}};
  double total = 0;
  for (const auto& s : stages) total += s.second;
  for (const auto& s : stages) {
    char extra[96];
    std::snprintf(extra, sizeof extra, ",\"ms_per_image\":%.4f,\"share\":%.3f",
                  1e3 * s.second / static_cast<double>(n), s.second / total);
    emit(one, std::string("stage-") + s.first, n, s.second, extra);
  }
  char extra[64];
  std::snprintf(extra, sizeof extra, ",\"ms_per_image\":%.4f,\"checksum\":%.3f",
                1e3 * total / static_cast<double>(n), checksum);
  emit(one, "stages-total", n, total, extra);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  try {
    // Compute threads would compete with the loader's workers for the cores.
    torch::set_num_threads(1);

    mura::data::IndexOptions io;
    io.on_bad = mura::data::BadEntryPolicy::Skip;
    const mura::data::Dataset ds = mura::data::index_dataset(a.data_dir, io);
    std::vector<std::size_t> idx = ds.images_of(mura::data::parse_split(a.split));
    if (idx.empty()) throw mura::Error("no images in split '" + a.split + "'");
    if (a.limit > 0 && static_cast<std::size_t>(a.limit) < idx.size())
      idx.resize(static_cast<std::size_t>(a.limit));
    const std::vector<Sample> samples = mura::data::make_samples(ds, idx);

    if (!a.list_out.empty()) {
      std::ofstream out(a.list_out);
      for (const auto& s : samples) out << fs::absolute(s.file).string() << '\t' << s.label << '\n';
      if (!out) throw mura::Error(a.list_out.string() + ": cannot write the image list");
    }
    if (a.list_only) return 0;

    const Common c{a.split, a.size, a.batch_size, a.workers};
    if (a.modes.count("files")) bench_files(a, c, samples);
    if (a.modes.count("cache")) bench_cache(a, c, samples);
    if (a.modes.count("disk")) bench_disk(a, c, samples);
    if (a.modes.count("stages")) bench_stages(a, c, samples);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mura_bench_loader: " << e.what() << "\n";
    return 1;
  }
}
