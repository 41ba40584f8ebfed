#include "mura/data/loader.h"

#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <opencv2/core.hpp>
#include <thread>
#include <utility>

#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"
#include "mura/util/versions.h"

namespace mura::data {
namespace fs = std::filesystem;

namespace {

constexpr char kCacheMagic[8] = {'M', 'U', 'R', 'A', 'C', 'A', 'C', 'H'};
constexpr std::uint32_t kCacheFormatVersion = versions::kImageCache;

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ULL;
  }
  return h;
}

}  // namespace

std::vector<Sample> make_samples(const Dataset& ds, const std::vector<std::size_t>& indices) {
  std::vector<Sample> out;
  auto add = [&](std::size_t i) {
    const ImageRecord& r = ds.images.at(i);
    out.push_back({r.file, r.label, ds.studies[r.study].mura_path, r.patient_id, r.body_part});
  };
  if (indices.empty()) {
    for (std::size_t i = 0; i < ds.images.size(); ++i) add(i);
  } else {
    for (std::size_t i : indices) add(i);
  }
  return out;
}

const NameTable<CacheMode>& cache_mode_names() {
  static const NameTable<CacheMode> table("--cache", {{CacheMode::None, "none", {"off"}},
                                                      {CacheMode::Memory, "memory", {"ram"}},
                                                      {CacheMode::Disk, "disk", {}}});
  return table;
}

CacheMode parse_cache_mode(const std::string& name) {
  return cache_mode_names().parse(name);
}

Loader::Loader(std::vector<Sample> samples, LoaderOptions options)
    : samples_(std::move(samples)), options_(std::move(options)) {
  if (options_.batch_size < 1)
    throw Error("batch size must be at least 1, got " + std::to_string(options_.batch_size));
  if (options_.workers < 0)
    throw Error("workers must be 0 or more, got " + std::to_string(options_.workers));
  if (options_.prefetch < 1)
    throw Error("prefetch must be at least 1, got " + std::to_string(options_.prefetch));
  if (options_.shard_count < 1 || options_.shard_rank < 0 ||
      options_.shard_rank >= options_.shard_count)
    throw Error("shard " + std::to_string(options_.shard_rank) + " of " +
                std::to_string(options_.shard_count) + " does not exist");
  if (options_.transform.size < 8 || options_.transform.size > 4096)
    throw Error("image size must be in [8, 4096], got " + std::to_string(options_.transform.size));
  if (options_.cache != CacheMode::None) {
    const std::size_t plane =
        static_cast<std::size_t>(options_.transform.size) * options_.transform.size;
    cache_.resize(plane * samples_.size());
    cache_state_ = std::make_unique<std::atomic<unsigned char>[]>(samples_.size());
    for (std::size_t i = 0; i < samples_.size(); ++i) cache_state_[i] = 0;
    if (options_.cache == CacheMode::Disk) load_disk_cache();
  }
  if (options_.workers > 0) {
    cv::setNumThreads(0);  // our workers are the parallelism; no nested OpenCV threads
    for (int i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { worker_loop(); });
  }
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::size_t Loader::num_batches() const {
  const std::size_t n = samples_.size(), b = static_cast<std::size_t>(options_.batch_size);
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void Loader::start_epoch(std::uint64_t epoch, std::size_t skip_batches) {
  std::vector<std::size_t> order(samples_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (options_.shuffle) Rng(mix_seed({options_.seed, epoch, 0x5348554646ULL})).shuffle(order);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    epoch_ = epoch;
    order_ = std::move(order);
    next_claim_ = std::min(skip_batches, num_batches());
    next_deliver_ = next_claim_;
    ready_.clear();
    started_ = true;
  }
  work_cv_.notify_all();
}

std::size_t Loader::global_batch_size(std::size_t k) const {
  const std::size_t b = static_cast<std::size_t>(options_.batch_size);
  return std::min(order_.size(), (k + 1) * b) - std::min(order_.size(), k * b);
}

std::vector<std::size_t> Loader::batch_members(std::size_t k) const {
  const std::size_t begin = k * static_cast<std::size_t>(options_.batch_size);
  const auto [from, to] = share_of(global_batch_size(k), options_.shard_rank, options_.shard_count);
  return {order_.begin() + static_cast<std::ptrdiff_t>(begin + from),
          order_.begin() + static_cast<std::ptrdiff_t>(begin + to)};
}

std::optional<Batch> Loader::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_) throw Error("Loader::next() called before start_epoch()");
  if (next_deliver_ >= num_batches()) {
    lock.unlock();
    if (options_.cache == CacheMode::Disk && !cache_saved_ && cache_complete()) save_disk_cache();
    return std::nullopt;
  }
  const std::size_t k = next_deliver_;
  if (threads_.empty()) {
    const std::uint64_t epoch = epoch_;
    auto members = batch_members(k);
    const std::size_t global = global_batch_size(k);
    ++next_deliver_;
    lock.unlock();
    Batch b = build(epoch, members);
    b.global_size = global;
    return b;
  }
  const std::size_t global = global_batch_size(k);
  ready_cv_.wait(lock, [&] { return ready_.count(k) > 0; });
  Slot slot = std::move(ready_[k]);
  ready_.erase(k);
  ++next_deliver_;
  lock.unlock();
  work_cv_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  slot.batch->global_size = global;
  return std::move(slot.batch);
}

void Loader::worker_loop() {
  while (true) {
    std::uint64_t gen = 0, epoch = 0;
    std::size_t k = 0;
    std::vector<std::size_t> members;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] {
        return stop_ || (started_ && next_claim_ < num_batches() &&
                         next_claim_ < next_deliver_ + static_cast<std::size_t>(options_.prefetch));
      });
      if (stop_) return;
      gen = generation_;
      epoch = epoch_;
      k = next_claim_++;
      members = batch_members(k);
    }
    Slot slot;
    try {
      slot.batch = build(epoch, members);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (gen != generation_) continue;  // the epoch was restarted; discard
      ready_[k] = std::move(slot);
    }
    ready_cv_.notify_all();
  }
}

cv::Mat Loader::resized_image(std::size_t i) {
  const int size = options_.transform.size;
  if (options_.cache == CacheMode::None) {
    ++decoded_;
    return resize_square(load_gray(samples_[i].file, options_.decode), size);
  }
  const std::size_t plane = static_cast<std::size_t>(size) * size;
  unsigned char* slot = cache_.data() + plane * i;
  if (cache_state_[i].load(std::memory_order_acquire) == 2)
    return cv::Mat(size, size, CV_8UC1, slot);
  ++decoded_;
  cv::Mat img = resize_square(load_gray(samples_[i].file, options_.decode), size);
  unsigned char expected = 0;
  if (cache_state_[i].compare_exchange_strong(expected, 1)) {
    std::memcpy(slot, img.data, plane);
    cache_state_[i].store(2, std::memory_order_release);
    ++cache_filled_;
  }
  return img;
}

std::size_t Loader::fill_cache(int threads) {
  if (options_.cache == CacheMode::None || cache_complete()) return 0;
  const std::size_t before = decoded_.load();
  const unsigned n = threads > 0 ? static_cast<unsigned>(threads)
                                 : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  std::mutex error_mu;
  std::exception_ptr first_error;
  std::size_t first_error_index = samples_.size();
  auto work = [&] {
    for (std::size_t i = next++; i < samples_.size(); i = next++) {
      try {
        resized_image(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (i < first_error_index) {  // the first in sample order, whatever the scheduling
          first_error_index = i;
          first_error = std::current_exception();
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first_error && !options_.skip_unreadable) std::rethrow_exception(first_error);
  if (options_.cache == CacheMode::Disk && !cache_saved_ && cache_complete()) save_disk_cache();
  return decoded_.load() - before;
}

Batch Loader::build(std::uint64_t epoch, const std::vector<std::size_t>& members) {
  const int size = options_.transform.size;
  const auto n = static_cast<std::int64_t>(members.size());
  Batch batch;
  auto image_options =
      torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(options_.pin_memory);
  if (options_.channels_last)
    image_options = image_options.memory_format(torch::MemoryFormat::ChannelsLast);
  batch.images = torch::empty({n, 3, size, size}, image_options);
  batch.labels = torch::empty({n}, torch::kFloat32);
  float* images = batch.images.data_ptr<float>();
  float* labels = batch.labels.data_ptr<float>();
  const std::size_t per_image = 3 * static_cast<std::size_t>(size) * size;
  for (std::size_t j = 0; j < members.size(); ++j) {
    const std::size_t i = members[j];
    const Sample& s = samples_[i];
    cv::Mat img;
    try {
      img = resized_image(i);
      batch.errors.emplace_back();
    } catch (const Error& e) {
      if (!options_.skip_unreadable) throw;
      batch.errors.emplace_back(e.what());
      img = cv::Mat::zeros(size, size, CV_8UC1);
    }
    const std::uint64_t seed = sample_seed(options_.seed, epoch, i);
    if (options_.transform.augments()) img = augment(img, options_.transform, seed);
    if (options_.channels_last)
      normalize_into_interleaved(img, options_.transform, images + j * per_image);
    else
      normalize_into(img, options_.transform, images + j * per_image);
    if (const auto box = erasing_box(options_.transform, seed))
      erase_normalized(images + j * per_image, size, *box, options_.channels_last);
    labels[j] = static_cast<float>(s.label);
    batch.indices.push_back(i);
    batch.studies.push_back(s.study);
    batch.patients.push_back(s.patient);
    batch.body_parts.push_back(s.body_part);
  }
  return batch;
}

fs::path Loader::cache_file() const {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  const std::int64_t size = options_.transform.size;
  h = fnv1a(h, &kCacheFormatVersion, sizeof kCacheFormatVersion);
  h = fnv1a(h, &size, sizeof size);
  h = fnv1a(h, &options_.decode.max_pixels, sizeof options_.decode.max_pixels);
  h = fnv1a(h, options_.decode.dicom_window.data(), options_.decode.dicom_window.size() + 1);
  for (const auto& s : samples_) {
    const std::string p = fs::absolute(s.file).string();
    h = fnv1a(h, p.data(), p.size() + 1);
    std::error_code ec;
    const auto bytes = static_cast<std::int64_t>(fs::file_size(s.file, ec));
    const auto mtime = fs::last_write_time(s.file, ec).time_since_epoch().count();
    h = fnv1a(h, &bytes, sizeof bytes);
    h = fnv1a(h, &mtime, sizeof mtime);
  }
  char name[64];
  std::snprintf(name, sizeof name, "images-%d-%016llx.muracache", options_.transform.size,
                static_cast<unsigned long long>(h));
  return options_.cache_dir / name;
}

void Loader::load_disk_cache() {
  const fs::path file = cache_file();
  std::ifstream in(file, std::ios::binary);
  if (!in) return;  // cold start
  char magic[8];
  std::uint32_t version = 0, size = 0;
  std::uint64_t count = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&version), sizeof version);
  in.read(reinterpret_cast<char*>(&size), sizeof size);
  in.read(reinterpret_cast<char*>(&count), sizeof count);
  if (!in || std::memcmp(magic, kCacheMagic, 8) != 0)
    throw Error(file.string() + ": not a mura image cache (delete it to rebuild)");
  if (version != kCacheFormatVersion)
    throw Error(file.string() + ": image cache format_version " + std::to_string(version) +
                " is not the supported " + std::to_string(kCacheFormatVersion) +
                " (delete it to rebuild)");
  if (size != static_cast<std::uint32_t>(options_.transform.size) || count != samples_.size())
    throw Error(file.string() + ": image cache is for a different data set (delete it)");
  in.read(reinterpret_cast<char*>(cache_.data()), static_cast<std::streamsize>(cache_.size()));
  if (in.gcount() != static_cast<std::streamsize>(cache_.size()))
    throw Error(file.string() + ": truncated image cache (delete it to rebuild)");
  for (std::size_t i = 0; i < samples_.size(); ++i) cache_state_[i] = 2;
  cache_filled_ = samples_.size();
  cache_saved_ = true;
}

std::string Loader::take_cache_warning() {
  std::lock_guard<std::mutex> lock(cache_warning_mutex_);
  return std::exchange(cache_warning_, std::string());
}

void Loader::save_disk_cache() {
  const fs::path file = cache_file();
  cache_saved_ = true;  // tried once per run, whatever happens
  try {
    write_disk_cache(file);
  } catch (const Error& e) {
    std::lock_guard<std::mutex> lock(cache_warning_mutex_);
    cache_warning_ = std::string("image cache not saved (the run goes on without it): ") + e.what();
  }
}

void Loader::write_disk_cache(const fs::path& file) {
  write_file_atomic(file, [&](std::ostream& out) {
    const std::uint32_t version = kCacheFormatVersion;
    const auto size = static_cast<std::uint32_t>(options_.transform.size);
    const std::uint64_t count = samples_.size();
    out.write(kCacheMagic, 8);
    out.write(reinterpret_cast<const char*>(&version), sizeof version);
    out.write(reinterpret_cast<const char*>(&size), sizeof size);
    out.write(reinterpret_cast<const char*>(&count), sizeof count);
    out.write(reinterpret_cast<const char*>(cache_.data()),
              static_cast<std::streamsize>(cache_.size()));
  });
}

}  // namespace mura::data
