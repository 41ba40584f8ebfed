#pragma once
/// The batch loader: worker threads decode, resize, augment and normalise images into
/// [B,3,H,W] float tensors, a bounded number of batches ahead of the consumer.
///
/// Batches always come out in order (batch k of the epoch's permutation is batch k, however
/// the workers are scheduled), and every sample's augmentation is seeded by
/// (seed, epoch, sample index): the same options give the same batches with any number of
/// workers. Each epoch visits every sample exactly once (the last partial batch is dropped
/// with drop_last).
///
/// Cache: with CacheMode::Memory or Disk, the decoded and resized gray image (size x size
/// bytes per image) is kept, so epochs after the first skip decoding; augmentation still
/// runs per epoch on the cached image. Disk additionally writes the cache, once complete,
/// to one versioned file in cache_dir (atomically), keyed by the sample files (path, size,
/// modification time) and the image size, so the next run starts warm.
#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/data/image.h"
#include "mura/data/transforms.h"
#include "mura/util/collective.h"
#include "mura/util/names.h"

namespace mura::data {

/// One image to load, with what the consumer needs to know about it.
struct Sample {
  std::filesystem::path file;
  int label = 0;
  std::string study;  ///< the study's MURA path (".../study1_positive/")
  std::string patient;
  std::string body_part;
};

/// Samples for the given images of `ds` (all images when `indices` is empty).
std::vector<Sample> make_samples(const Dataset& ds, const std::vector<std::size_t>& indices = {});

enum class CacheMode { None, Memory, Disk };
/// "none" | "memory" | "disk"; throws mura::Error otherwise.
/// The names --cache accepts.
const NameTable<CacheMode>& cache_mode_names();
CacheMode parse_cache_mode(const std::string& name);

struct LoaderOptions {
  int batch_size = 32;
  int workers = 2;         ///< decoding threads; 0 decodes on the calling thread
  int prefetch = 4;        ///< batches being built or ready ahead of the consumer (>= 1)
  bool shuffle = false;    ///< permute the samples each epoch (seeded by seed and epoch)
  bool drop_last = false;  ///< drop the last, incomplete batch
  std::uint64_t seed = 42;
  TransformOptions transform;
  DecodeOptions decode;
  /// Report unreadable images in Batch::errors (their slot is zeros) instead of throwing.
  bool skip_unreadable = false;
  CacheMode cache = CacheMode::None;
  std::filesystem::path cache_dir = ".cache/mura";  ///< for CacheMode::Disk
  /// Batches in the channels-last memory format (NHWC strides; same shape and values), the
  /// layout channels-last models consume without a conversion.
  bool channels_last = false;
  /// Page-locked host batches for asynchronous copies to a CUDA device (needs CUDA).
  bool pin_memory = false;
  /// Data parallel: every batch k of the epoch is the same global batch of batch_size on
  /// every process (same order, same seeds), and this loader yields the share of it that
  /// shard_rank of shard_count takes (share_of: contiguous, sizes differing by one, 16 over
  /// 3 -> 5, 5, 6). A share can be empty when a batch has fewer images than shards.
  int shard_rank = 0;
  int shard_count = 1;
};

struct Batch {
  torch::Tensor images;  ///< [B,3,size,size] float32, normalised (channels-last if asked)
  torch::Tensor labels;  ///< [B] float32, 0 or 1
  std::vector<std::size_t> indices;  ///< positions of the samples in the loader's list
  std::vector<std::string> studies, patients, body_parts;
  /// With LoaderOptions::skip_unreadable: per image, empty or the error that made it unusable.
  std::vector<std::string> errors;
  std::size_t size() const { return indices.size(); }
  /// Images in the whole (global) batch this one is a share of; == size() unsharded.
  std::size_t global_size = 0;
};

class Loader {
 public:
  /// Throws mura::Error on invalid options (batch size, workers, prefetch, image size).
  Loader(std::vector<Sample> samples, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  std::size_t size() const { return samples_.size(); }
  std::size_t num_batches() const;
  const std::vector<Sample>& samples() const { return samples_; }
  const LoaderOptions& options() const { return options_; }

  /// Starts epoch `epoch` (abandoning any epoch in progress): fixes its order and lets
  /// the workers begin. `skip_batches` starts at that batch of the epoch without loading the
  /// ones before it (resuming an interrupted epoch gives the batches it would have given).
  void start_epoch(std::uint64_t epoch, std::size_t skip_batches = 0);
  /// The next batch of the current epoch, or nullopt at its end. Re-throws, as
  /// mura::Error naming the file, any error a worker met building this batch.
  std::optional<Batch> next();

  /// With a cache: decodes every sample not yet cached, on `threads` threads (0: every
  /// core), before any batch is asked for, so decoding does not compete with the model for
  /// the cores later (the cached epochs then only augment). Throws, as mura::Error naming
  /// the file, the first unreadable image unless skip_unreadable (then they stay uncached
  /// and are reported by the batches). Returns the number of images decoded. No-op without
  /// a cache.
  std::size_t fill_cache(int threads = 0);

  /// Images decoded from their files so far (cache misses included, hits excluded).
  std::size_t decoded_count() const { return decoded_.load(); }
  /// Whether every sample is in the cache.
  bool cache_complete() const { return cache_filled_.load() == samples_.size(); }
  /// The disk cache file for these samples and options.
  std::filesystem::path cache_file() const;
  /// Why the disk cache could not be saved (a full disk, a read-only --cache-dir), once;
  /// "" otherwise. A cache is an optimisation: the run goes on from memory, and the caller
  /// reports this as a warning.
  std::string take_cache_warning();

 private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  Batch build(std::uint64_t epoch, const std::vector<std::size_t>& members);
  cv::Mat resized_image(std::size_t i);
  void worker_loop();
  void load_disk_cache();
  void save_disk_cache();
  void write_disk_cache(const std::filesystem::path& file);
  std::mutex cache_warning_mutex_;
  std::string cache_warning_;
  std::vector<std::size_t> batch_members(std::size_t k) const;  ///< this shard's share
  std::size_t global_batch_size(std::size_t k) const;

  std::vector<Sample> samples_;
  LoaderOptions options_;

  // cache: one contiguous buffer of size*size bytes per sample
  std::vector<unsigned char> cache_;
  std::unique_ptr<std::atomic<unsigned char>[]> cache_state_;  // 0 empty, 1 filling, 2 ready
  std::atomic<std::size_t> cache_filled_{0};
  bool cache_saved_ = false;
  std::atomic<std::size_t> decoded_{0};

  // epoch state, guarded by mu_
  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  std::uint64_t generation_ = 0;
  std::uint64_t epoch_ = 0;
  bool started_ = false;
  bool stop_ = false;
  std::vector<std::size_t> order_;
  std::size_t next_claim_ = 0;
  std::size_t next_deliver_ = 0;
  std::map<std::size_t, Slot> ready_;
  std::vector<std::thread> threads_;
};

}  // namespace mura::data
