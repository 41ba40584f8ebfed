#pragma once
/// Training, in steps: the seeds' pipeline and the MURA paper's recipe.
///
/// The steps -- check_options, build_model, make_loaders, make_session, train_epoch,
/// validate, save_training_checkpoint -- are composed by app::run_training (app/training.h),
/// which leaves in `output_dir`:
///   best.ckpt (or `checkpoint`)  the best epoch by the monitored metric
///   last.ckpt                    the latest state, resumable (also written on Ctrl-C)
///   metrics.csv, metrics.jsonl   one row per epoch (train/metrics_log.h)
/// Resuming (`load_checkpoint`) restores model, optimizer, scheduler, epoch (and position
/// within an interrupted epoch), best metric and RNG; on CPU with the same thread count,
/// 2 epochs straight and 1 + resume + 1 give the same weights. Nothing here prints: the
/// steps report to the Sink they are given.
///
/// Data parallel (Runtime::group of N > 1 processes, train/data_parallel.h): the model is
/// broadcast from rank 0; every global batch of `batch_size` (the batch one process would
/// draw: same seeded order, same per-image augmentation seeds) is shared among the ranks
/// (16 over 3: 5, 5, 6) and the summed gradients are those of the whole batch, so N
/// processes train the model one process would (within float rounding). BatchNorm in train
/// mode normalises each rank's share unless `sync_bn`, as DDP does. A last batch smaller
/// than max(2, N) is dropped (one process keeps a last batch of 2..N-1 images that N
/// processes drop). Validation: each rank scores its share of every batch and the
/// probabilities are gathered, so every rank computes the same metrics and takes the same
/// scheduler and early-stop decisions. Checkpoints are written by rank 0, then every rank
/// waits at a barrier. A stop request on any rank stops every rank at the same step.
#include <torch/optim/optimizer.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/data/loader.h"
#include "mura/models/classifier.h"
#include "mura/train/data_parallel.h"
#include "mura/train/grad_scaler.h"
#include "mura/train/loss.h"
#include "mura/train/schedule.h"
#include "mura/util/names.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"

namespace mura::train {

struct TrainOptions {
  // data
  std::string data_dir;
  std::vector<std::string> tasks;  ///< body parts; empty = all
  bool skip_bad = false;
  data::DicomTreeOptions dicom;      ///< when data_dir is a DICOM tree (indexed as train)
  std::string dicom_window;          ///< DecodeOptions::dicom_window
  double val_split = 0.15;           ///< patient-level share of the official train split
  std::string val_source = "split";  ///< "split" (patients of train) | "valid" (official)
  int image_size = 224;
  std::string cache = "memory";  ///< none | memory | disk (decoded, resized images)
  bool hflip = true;
  double rotate = 10.0;
  double brightness = 0.0;
  double contrast = 0.0;
  double crop_scale = 1.0;  ///< data::TransformOptions::crop_scale (1: off)
  double erasing = 0.0;     ///< data::TransformOptions::erasing (0: off)
  // model
  std::string model = "densenet169";
  std::string pretrained;       ///< torchvision .pth or mura checkpoint to start from
  bool freeze = false;          ///< train only the head (BatchNorm statistics frozen too)
  bool sync_bn = false;         ///< data parallel: BatchNorm statistics over the global batch
  std::string load_checkpoint;  ///< resume from this checkpoint
  /// Resume from output_dir/last.ckpt when it exists (a launcher's restart of a failed
  /// run: torchrun --max-restarts sets this through the CLI); else start as asked.
  bool resume_last = false;
  // optimisation
  int epochs = 10;  ///< total epochs (a resumed run continues to this)
  int batch_size = 32;
  double lr = 1e-4;
  bool lr_given = true;            ///< false: a resumed run keeps the checkpoint's lr
  std::string optimizer = "adam";  ///< adam | adamw
  double weight_decay = 0.0;
  std::string loss = "weighted-bce";  ///< weighted-bce | bce | ce
  std::string scheduler = "plateau";  ///< plateau | cosine | none
  std::string monitor = "auc";        ///< what the scheduler, early stop and the best
                                      ///< checkpoint follow: auc (study AUROC), accuracy
                                      ///< (study), loss (validation loss)
  double factor = 0.1;
  int patience = 1;
  int early_stop = 0;          ///< stop after this many epochs without improvement
  std::int64_t max_steps = 0;  ///< end training after this many optimizer steps (0 = no
                               ///< limit); that epoch is validated and counted as done
  // at the end (app/training.cpp runs app/calibration.h on best.ckpt, on the validation set)
  bool calibrate = false;  ///< fit temperature scaling
  std::string threshold;   ///< choose the operating point by this rule ("" = keep 0.5)
  // run
  std::string output_dir = "outputs";
  std::string checkpoint;  ///< best-model path; default output_dir/best.ckpt
  bool overwrite = false;  ///< replace an earlier run's files in output_dir
  std::uint64_t seed = 42;
  RuntimeOptions runtime;  ///< device, precision, threads, workers, ...
  /// Called after every optimizer step with the global step (not serialised; for tests
  /// and front ends).
  std::function<void(std::int64_t)> on_step;
};

/// The names --optimizer, --monitor and --val-source accept.
const NameTable<std::string>& optimizer_names();
const NameTable<std::string>& monitor_names();  ///< auc (val_auc, auroc), accuracy, loss
const NameTable<std::string>& val_source_names();

/// Throws mura::Error naming the flag for an option no training can use.
void check_options(const TrainOptions& options);

/// JSON text of the options (stored in checkpoints; the runtime's fields as flat keys
/// "device", "precision", ... as before the runtime existed) and back.
std::string options_to_json(const TrainOptions& o);
TrainOptions options_from_json(const std::string& json);
/// What evaluate needs to rebuild the held-out patients of a run with these options.
weights::HeldOutSplit held_out_split(const TrainOptions& o);

struct EpochRecord {
  int epoch = 0;
  std::int64_t step = 0;
  double lr = 0, train_loss = 0, val_loss = 0;
  double image_auc = 0, image_accuracy = 0, image_kappa = 0;
  double study_auc = 0, study_accuracy = 0, study_kappa = 0;
  double seconds = 0, images_per_s = 0;
  bool best = false;
};

/// The model to train: fresh (seeded, optionally from `pretrained`) or a resumed checkpoint.
struct ModelSetup {
  std::shared_ptr<models::ClassifierImpl> model;
  weights::ModelSpec spec;
  weights::Checkpoint resume;  ///< what a resumed run restores (empty model when fresh)
  bool resuming = false;
};
/// Builds the model and moves it to the runtime's device and memory format. A resumed run
/// takes the checkpoint's architecture and input size (options.model / image_size are
/// updated). Throws mura::Error for a checkpoint that has done its epochs already.
ModelSetup build_model(TrainOptions& options, const Runtime& runtime, Sink& sink);

/// The training and validation samples and their loaders.
struct Loaders {
  std::vector<data::Sample> train_samples, val_samples;
  std::unique_ptr<data::Loader> train, val;
};
/// Indexes the data set, splits it (patients of train, or the official valid split) and
/// makes the loaders with the model's normalisation.
Loaders make_loaders(const TrainOptions& options, const weights::ModelSpec& spec,
                     const Runtime& runtime, Sink& sink);

/// Everything that changes while training: optimizer, scheduler, loss scaler, counters.
struct Session {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<Loss> loss;
  std::unique_ptr<GradientReducer> reducer;  ///< data parallel only (a group of more than one)
  int start_epoch = 0;
  std::int64_t step = 0;
  std::int64_t skip_batches = 0;  ///< batches of start_epoch already done (resume mid-epoch)
  double best = 0;
  bool has_best = false;
  int epochs_without_improvement = 0;
};
/// Optimizer, scheduler, scaler and loss for `setup` (restored from its checkpoint when
/// resuming, including torch's RNG state).
Session make_session(const TrainOptions& options, const ModelSetup& setup, const Loaders& loaders,
                     const Runtime& runtime);

/// Set from a SIGINT handler: training finishes the current step, writes a resumable
/// checkpoint and returns with interrupted = true. The caller resets it before training.
std::atomic<bool>& stop_requested();

struct EpochOutcome {
  double loss_sum = 0;       ///< sum over images of the batch loss
  std::size_t seen = 0;      ///< images trained on in this call
  bool interrupted = false;  ///< stop_requested() was seen after `batches_done` batches
  std::int64_t batches_done = 0;
  bool hit_max_steps = false;
};
/// One pass over the training loader (from session.skip_batches on), reporting progress.
EpochOutcome train_epoch(const TrainOptions& options, ModelSetup& setup, Loaders& loaders,
                         Session& session, const Runtime& runtime, int epoch, Sink& sink);

/// The current model on the validation loader: mean loss and P(abnormal) per validation
/// sample (indexed like loaders.val_samples); the metrics are eval/'s to compute.
struct Validation {
  double loss = 0;
  std::vector<double> probabilities;
};
Validation validate(ModelSetup& setup, Loaders& loaders, Session& session, const Runtime& runtime);

/// Writes a resumable checkpoint: epochs done, position in the epoch, best so far, options,
/// scheduler, scaler, RNG, and the held-out split.
void save_training_checkpoint(const std::string& path, const TrainOptions& options,
                              const ModelSetup& setup, const Session& session,
                              const Runtime& runtime, int epochs_done, std::int64_t batches_done);

/// The monitored value of a record, and whether it improves on the best so far.
double monitored(const std::string& monitor, const EpochRecord& r);
bool improves(const std::string& monitor, double value, double best, bool has_best);

}  // namespace mura::train
