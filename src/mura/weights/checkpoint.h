#pragma once
/// mura's one checkpoint format: everything needed to use a model (architecture, head,
/// input size, normalisation, threshold) and to resume training it (options, epoch, best
/// metric, optimizer and scheduler state, RNG state).
///
/// On disk it is a LibTorch archive (a zip, like torch.save's) with the keys
///   mura_format_version   int       (kCheckpointFormatVersion; newer versions are refused)
///   meta                  str       JSON: spec, training state, mura version, creation time
///   model/<name>          tensors   parameters and buffers under torchvision's names
///   optimizer             uint8[]   the optimizer's own LibTorch archive (optional)
///   rng                   uint8[]   torch's CPU generator state (optional)
/// Writes are atomic (temp file, fsync, rename): a crash mid-write leaves the previous file.
#include <torch/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mura/models/classifier.h"
#include "mura/util/versions.h"

namespace torch::optim {
class Optimizer;
}

namespace mura::weights {

constexpr int64_t kCheckpointFormatVersion = versions::kCheckpoint;  ///< util/versions.h

/// Where a checkpoint's threshold and temperature come from (`mura calibrate`, or `mura train
/// --threshold/--calibrate` at the end of training): the rule, the data they were chosen on
/// and the numbers that justify them, for predict, explain, serve and the report to show.
/// Plain numbers: eval/ computes them, the checkpoint only carries them.
struct CalibrationRecord {
  std::string threshold_rule;  ///< "sensitivity:0.9", "youden", "0.5"...; "" = none recorded
  std::string data;            ///< what they were chosen on: "<data root>, valid split"
  std::string created;         ///< UTC, ISO 8601
  std::size_t studies = 0, abnormal_studies = 0, images = 0;
  /// study level, at the threshold, with their percentile bootstrap intervals (eval/bootstrap.h)
  double sensitivity = std::numeric_limits<double>::quiet_NaN();
  double sensitivity_lower = std::numeric_limits<double>::quiet_NaN();
  double sensitivity_upper = std::numeric_limits<double>::quiet_NaN();
  double specificity = std::numeric_limits<double>::quiet_NaN();
  double specificity_lower = std::numeric_limits<double>::quiet_NaN();
  double specificity_upper = std::numeric_limits<double>::quiet_NaN();
  std::size_t bootstrap = 0;  ///< resamples behind the intervals (0: none)
  /// temperature scaling (image level, eval/temperature.h); false: the temperature was kept
  bool temperature_fitted = false;
  double nll_before = std::numeric_limits<double>::quiet_NaN();
  double nll_after = std::numeric_limits<double>::quiet_NaN();
  double ece_before = std::numeric_limits<double>::quiet_NaN();
  double ece_after = std::numeric_limits<double>::quiet_NaN();

  bool empty() const { return threshold_rule.empty() && !temperature_fitted; }
};

/// What a model needs at inference time.
struct ModelSpec {
  std::string arch;         ///< registry name, e.g. "densenet169"
  int64_t num_outputs = 1;  ///< 1: sigmoid of one logit; 2: softmax, class 1 = abnormal
  int image_size = 224;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  double threshold = 0.5;  ///< decision threshold on the abnormal probability
  /// inference divides the logits by it (temperature scaling); 1 = the probabilities as trained
  double temperature = 1.0;
  CalibrationRecord calibration;  ///< how threshold and temperature were chosen (may be empty)
};

/// Where training stands (all optional for a converted, untrained model).
/// What rebuilds a training run's held-out patients (`evaluate --split heldout`) without
/// reading its training options: data/split.h's split of the official train split.
struct HeldOutSplit {
  bool recorded = false;             ///< false: an older checkpoint; fall back to the options
  std::string val_source = "split";  ///< "split" (patients of train) | "valid" (official)
  double val_fraction = 0.15;        ///< share of patients per stratum
  std::uint64_t seed = 42;
  std::vector<std::string> tasks;  ///< body-part filter applied first; empty = all
  std::string strata = "body part of the first study";  ///< data/split.h's rule
};

struct TrainingState {
  int64_t epoch = 0;  ///< epochs completed
  int64_t global_step = 0;
  int64_t batches_done_in_epoch = 0;  ///< > 0: interrupted inside epoch `epoch` + 1
  std::string best_metric_name;       ///< e.g. "val_study_auc"
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  std::string options_json = "{}";      ///< the training options that produced it
  std::string scheduler_json = "{}";    ///< the scheduler's state
  std::string precision = "fp32";       ///< what training ran in: fp32 | bf16 | fp16
  bool channels_last = false;           ///< the memory format training used
  std::string grad_scaler_json = "{}";  ///< fp16 loss scaler state ("{}" otherwise)
  HeldOutSplit split;                   ///< how validation patients were chosen
};

struct Checkpoint {
  int64_t format_version = kCheckpointFormatVersion;
  std::string mura_version;
  std::string created;  ///< UTC, ISO 8601
  ModelSpec spec;
  TrainingState state;
  std::shared_ptr<models::ClassifierImpl> model;
  std::string optimizer_state;  ///< bytes of the optimizer's archive; empty when none
  torch::Tensor rng_state;      ///< undefined when none
};

/// Writes a checkpoint atomically. `optimizer` may be null; `save_rng` stores torch's CPU
/// generator state.
void save_checkpoint(const std::filesystem::path& path, const ModelSpec& spec,
                     models::ClassifierImpl& model, const TrainingState& state = {},
                     torch::optim::Optimizer* optimizer = nullptr, bool save_rng = false);

/// Writes `ckpt` (its model's tensors, training state, optimizer and generator state, as
/// loaded) to `path` with another spec, atomically: how `mura calibrate` records a threshold
/// and a temperature. `path` may be the file `ckpt` was read from. The model must not have
/// been folded for inference.
void save_checkpoint_with_spec(const std::filesystem::path& path, const Checkpoint& ckpt,
                               const ModelSpec& spec);

/// Reads a checkpoint and builds its model (on `device`), with the spec's temperature set on
/// the model (ClassifierImpl::set_temperature). Throws mura::Error naming the
/// file: missing, not a checkpoint (e.g. a .pth state dict), truncated or damaged, newer
/// format_version, architecture unknown.
Checkpoint load_checkpoint(const std::filesystem::path& path, torch::Device device = torch::kCPU);

/// Loads the optimizer state stored in `ckpt` into `optimizer` (same parameter layout).
void restore_optimizer(const Checkpoint& ckpt, torch::optim::Optimizer& optimizer);

/// The spec's threshold and where it comes from, for people: "0.5 (not chosen on data)", or
/// "0.4123 (sensitivity:0.9 on <data>, 120 studies: sensitivity 0.917 [0.850, 0.967],
/// specificity 0.712 [0.640, 0.790])"; with ", temperature 2.31" when the model is scaled.
std::string describe_threshold(const ModelSpec& spec);

/// ModelSpec <-> JSON text (used by the checkpoint and by the TorchScript export).
std::string spec_to_json(const ModelSpec& spec);

}  // namespace mura::weights
