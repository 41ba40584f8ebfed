#pragma once
/// The training loop: the seeds' pipeline and the MURA paper's recipe.
///
/// One call trains a model on a MURA-layout data set and leaves in `output_dir`:
///   best.ckpt (or `checkpoint`)  the best epoch by the monitored metric
///   last.ckpt                    the latest state, resumable (also written on Ctrl-C)
///   metrics.csv, metrics.jsonl   one row per epoch
/// Resuming (`load_checkpoint`) restores model, optimizer, scheduler, epoch (and position
/// within an interrupted epoch), best metric and RNG; on CPU with the same thread count,
/// 2 epochs straight and 1 + resume + 1 give the same weights.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mura::train {

struct TrainOptions {
  // data
  std::string data_dir;
  std::vector<std::string> tasks;       ///< body parts; empty = all
  bool skip_bad = false;
  double val_split = 0.15;              ///< patient-level share of the official train split
  std::string val_source = "split";     ///< "split" (patients of train) | "valid" (official)
  int image_size = 224;
  int workers = -1;                     ///< loader threads; < 0 = chosen (util/threads.h)
  std::string cache = "memory";         ///< none | memory | disk (decoded, resized images)
  bool hflip = true;
  double rotate = 10.0;
  double brightness = 0.0;
  double contrast = 0.0;
  // model
  std::string model = "densenet169";
  std::string pretrained;               ///< torchvision .pth or mura checkpoint to start from
  bool freeze = false;                  ///< train only the head (BatchNorm statistics frozen too)
  std::string load_checkpoint;          ///< resume from this checkpoint
  // optimisation
  int epochs = 10;                      ///< total epochs (a resumed run continues to this)
  int batch_size = 32;
  double lr = 1e-4;
  bool lr_given = true;                 ///< false: a resumed run keeps the checkpoint's lr
  std::string optimizer = "adam";       ///< adam | adamw
  double weight_decay = 0.0;
  std::string loss = "weighted-bce";    ///< weighted-bce | bce | ce
  std::string scheduler = "plateau";    ///< plateau | cosine | none
  std::string monitor = "auc";          ///< what the scheduler, early stop and the best
                                        ///< checkpoint follow: auc (study AUROC), accuracy
                                        ///< (study), loss (validation loss)
  double factor = 0.1;
  int patience = 1;
  int early_stop = 0;                   ///< stop after this many epochs without improvement
  std::int64_t max_steps = 0;           ///< end training after this many optimizer steps (0 = no
                                        ///< limit); that epoch is validated and counted as done
  // run
  std::string output_dir = "outputs";
  std::string checkpoint;               ///< best-model path; default output_dir/best.ckpt
  bool overwrite = false;               ///< replace an earlier run's files in output_dir
  std::string device = "auto";          ///< auto | cpu | cuda
  std::string precision = "auto";       ///< auto | fp32 | bf16 | fp16 (util/precision.h)
  bool channels_last = true;            ///< channels-last model and batches
  bool deterministic = false;           ///< CUDA: deterministic algorithms, no cudnn benchmark
  std::uint64_t seed = 42;
  int threads = 0;                      ///< torch intra-op threads; 0 = chosen (util/threads.h)
  bool progress = true;                 ///< progress bar on stderr
  /// Called after every optimizer step with the global step (not serialised; for tests
  /// and front ends).
  std::function<void(std::int64_t)> on_step;
};

/// JSON text of the options (stored in checkpoints) and back.
std::string options_to_json(const TrainOptions& o);
TrainOptions options_from_json(const std::string& json);

struct EpochRecord {
  int epoch = 0;
  std::int64_t step = 0;
  double lr = 0, train_loss = 0, val_loss = 0;
  double image_auc = 0, image_accuracy = 0, image_kappa = 0;
  double study_auc = 0, study_accuracy = 0, study_kappa = 0;
  double seconds = 0, images_per_s = 0;
  bool best = false;
};

struct TrainResult {
  std::vector<EpochRecord> history;  ///< this run's epochs
  double best_metric = 0;
  std::string best_checkpoint, last_checkpoint;
  bool interrupted = false;          ///< stopped by a request (Ctrl-C); last.ckpt is resumable
  std::int64_t steps = 0;
};

/// Set from a SIGINT handler: training finishes the current step, writes a resumable
/// checkpoint and returns with interrupted = true. The caller resets it before train().
std::atomic<bool>& stop_requested();

/// Trains; throws mura::Error on bad options or data.
TrainResult train(const TrainOptions& options);

}  // namespace mura::train
