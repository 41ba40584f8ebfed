#pragma once
/// `mura train` as a composition: runtime -> model -> loaders -> session -> epochs
/// (train_epoch, validate, checkpoints, metrics log) with early stop, max steps and Ctrl-C.
#include <string>
#include <vector>

#include "mura/train/trainer.h"
#include "mura/util/sink.h"

namespace mura::app {

struct TrainResult {
  std::vector<train::EpochRecord> history;  ///< this run's epochs
  double best_metric = 0;
  std::string best_checkpoint, last_checkpoint;
  bool interrupted = false;  ///< stopped by a request (Ctrl-C); last.ckpt is resumable
  std::int64_t steps = 0;
  std::string runtime;                ///< Runtime::describe() of what ran
  double train_seconds = 0;           ///< time in training passes (validation excluded)
  std::size_t images_trained = 0;     ///< over every process
  double allreduce_wait_seconds = 0;  ///< data parallel: waiting for gradient all-reduces
};

/// Trains as train/trainer.h describes, reporting the device banner (info), progress, one
/// EpochEvent per epoch and notes to `sink`. Throws mura::Error on bad options or data.
TrainResult run_training(const train::TrainOptions& options, Sink& sink = null_sink());

}  // namespace mura::app
