#include "mura/app/training.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "mura/app/calibration.h"
#include "mura/eval/aggregate.h"
#include "mura/train/metrics_log.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::app {
namespace fs = std::filesystem;

namespace {

std::string epoch_line(const train::EpochRecord& r, int epochs) {
  char line[320];
  std::snprintf(line, sizeof line,
                "epoch %d/%d  train_loss %.4f  val_loss %.4f  image auc %.4f acc %.4f kappa %.4f  "
                "study auc %.4f acc %.4f kappa %.4f  lr %.2e%s",
                r.epoch, epochs, r.train_loss, r.val_loss, r.image_auc, r.image_accuracy,
                r.image_kappa, r.study_auc, r.study_accuracy, r.study_kappa, r.lr,
                r.best ? "  *best" : "");
  return line;
}

EpochEvent epoch_event(const train::EpochRecord& r, int epochs) {
  EpochEvent e;
  e.epoch = r.epoch;
  e.epochs = epochs;
  e.best = r.best;
  e.values = {{"train_loss", r.train_loss},
              {"val_loss", r.val_loss},
              {"val_image_auc", r.image_auc},
              {"val_image_accuracy", r.image_accuracy},
              {"val_image_kappa", r.image_kappa},
              {"val_study_auc", r.study_auc},
              {"val_study_accuracy", r.study_accuracy},
              {"val_study_kappa", r.study_kappa},
              {"lr", r.lr}};
  e.text = epoch_line(r, epochs);
  return e;
}

/// The validation numbers of an epoch: loss, image and study (mean of its images) metrics.
void score_validation(const train::Validation& v, const std::vector<data::Sample>& samples,
                      train::EpochRecord& r) {
  std::vector<eval::ImagePrediction> preds;
  for (std::size_t i = 0; i < samples.size(); ++i)
    preds.push_back({samples[i].study, samples[i].body_part, samples[i].label, v.probabilities[i]});
  const auto im = eval::metrics_of(preds);
  const auto st = eval::metrics_of(eval::aggregate_studies(preds));
  r.val_loss = v.loss;
  r.image_auc = im.auroc.value;
  r.image_accuracy = im.accuracy;
  r.image_kappa = im.kappa.value;
  r.study_auc = st.auroc.value;
  r.study_accuracy = st.accuracy;
  r.study_kappa = st.kappa.value;
}

TrainResult train_composed(const train::TrainOptions& options, Sink& sink) {
  train::TrainOptions o = options;
  train::check_options(o);
  o.monitor = train::monitor_names().canonical(o.monitor);
  o.optimizer = train::optimizer_names().canonical(o.optimizer);
  o.val_source = train::val_source_names().canonical(o.val_source);
  const Runtime rt = resolve_runtime(o.runtime);
  const bool writer = rt.group->rank() == 0;  // one writer: rank 0 (checkpoints are too)
  // A folder that cannot take the checkpoints is found now, not after the first epoch.
  if (writer) ensure_writable_dir(o.output_dir, "--output-dir");
  if (o.resume_last && o.load_checkpoint.empty()) {
    if (fs::exists(fs::path(o.output_dir) / "last.ckpt")) {
      o.load_checkpoint = (fs::path(o.output_dir) / "last.ckpt").string();
      sink.info("restarted: resuming from " + o.load_checkpoint);
    } else {
      // killed before its first last.ckpt (perhaps after that epoch's log or best.ckpt):
      // nothing to resume, so the restarted run starts over in the same folder
      o.overwrite = true;
      sink.info("restarted: no last.ckpt yet in " + o.output_dir + ", starting over");
    }
  }

  train::ModelSetup setup = train::build_model(o, rt, sink);
  sink.info(setup.spec.arch + " on " + rt.describe());
  train::Loaders loaders = train::make_loaders(o, setup.spec, rt, sink);
  train::Session session = train::make_session(o, setup, loaders, rt);

  const fs::path out_dir(o.output_dir);
  const fs::path best_path = o.checkpoint.empty() ? out_dir / "best.ckpt" : fs::path(o.checkpoint);
  const fs::path last_path = out_dir / "last.ckpt";
  if (o.load_checkpoint.empty() && !o.overwrite) {
    for (const fs::path& p : {best_path, last_path, out_dir / "metrics.jsonl"})
      if (fs::exists(p))
        throw Error("--output-dir " + o.output_dir + " already holds a training run (" +
                    p.filename().string() + "): resume it with --load-checkpoint " +
                    last_path.string() + ", choose another --output-dir, or pass --overwrite");
  }
  std::vector<nlohmann::json> rows =
      train::previous_rows(out_dir / "metrics.jsonl", session.start_epoch);
  TrainResult result;
  result.runtime = rt.describe();
  result.best_checkpoint = best_path.string();
  result.last_checkpoint = last_path.string();
  if (train::stop_requested()) {
    sink.warn("interrupted before training started; nothing written");
    result.interrupted = true;
    return result;
  }

  for (int epoch = session.start_epoch; epoch < o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (epoch == session.start_epoch && loaders.train->options().cache != data::CacheMode::None) {
      // Decode everything once with every core before the model runs, so that decoding never
      // competes with it for the cores; this epoch's time includes it.
      const std::size_t n = loaders.train->fill_cache() + loaders.val->fill_cache();
      if (n > 0) {
        char line[128];
        std::snprintf(line, sizeof line, "decoded %zu images into the cache in %.1f s", n,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        sink.info(line);
      }
      for (auto* l : {loaders.train.get(), loaders.val.get()})
        if (const std::string w = l->take_cache_warning(); !w.empty()) sink.warn(w);
    }
    const train::EpochOutcome trained =
        train::train_epoch(o, setup, loaders, session, rt, epoch, sink);
    if (trained.interrupted) {
      train::save_training_checkpoint(last_path.string(), o, setup, session, rt, epoch,
                                      trained.batches_done);
      sink.warn("interrupted: wrote " + last_path.string() + "; resume with --load-checkpoint " +
                last_path.string());
      result.interrupted = true;
      result.steps = session.step;
      return result;
    }
    const double train_secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.train_seconds += train_secs;
    result.images_trained += trained.seen;

    train::EpochRecord r;
    score_validation(train::validate(setup, loaders, session, rt), loaders.val_samples, r);
    r.epoch = epoch + 1;
    r.step = session.step;
    r.lr = session.scheduler->lr();
    r.train_loss = trained.seen ? trained.loss_sum / trained.seen : std::nan("");
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.images_per_s = train_secs > 0 ? trained.seen / train_secs : 0;
    const double m = train::monitored(o.monitor, r);
    if (train::improves(o.monitor, m, session.best, session.has_best)) {
      session.best = m;
      session.has_best = true;
      r.best = true;
      session.epochs_without_improvement = 0;
    } else {
      ++session.epochs_without_improvement;
    }
    const double next_lr = session.scheduler->step(epoch + 1, m);
    train::set_learning_rate(*session.optimizer, next_lr);
    // The log first, then the checkpoints: a kill between them leaves a row for an epoch
    // whose checkpoint was not written, which a resume drops (previous_rows) and redoes. The
    // other order lost the row of an epoch whose checkpoint was written (found by the kill
    // test: epochs 1, 3 in the log).
    rows.push_back(train::epoch_row(r));
    if (writer) train::write_metrics_log(out_dir, rows);
    if (r.best)
      train::save_training_checkpoint(best_path.string(), o, setup, session, rt, epoch + 1, 0);
    train::save_training_checkpoint(last_path.string(), o, setup, session, rt, epoch + 1, 0);
    result.history.push_back(r);
    sink.epoch(epoch_event(r, o.epochs));
    if (trained.hit_max_steps) break;
    if (o.early_stop > 0 && session.epochs_without_improvement >= o.early_stop) {
      sink.info("early stop: no improvement of " + o.monitor + " for " +
                std::to_string(o.early_stop) + " epochs");
      break;
    }
  }
  if (!session.has_best && !result.history.empty()) {
    // The monitored metric was undefined in every epoch (a validation set of one class has no
    // AUROC): rather than leave no best.ckpt behind, it holds the last epoch, and says so.
    train::save_training_checkpoint(best_path.string(), o, setup, session, rt,
                                    result.history.back().epoch, 0);
    sink.warn("--monitor " + o.monitor +
              " was undefined in every epoch (does the validation set hold both labels?): " +
              best_path.string() + " holds the last epoch's weights");
  }
  result.best_metric = session.best;
  result.steps = session.step;
  if ((o.calibrate || !o.threshold.empty()) && rt.group->rank() == 0 && !result.history.empty() &&
      !result.interrupted && fs::exists(best_path)) {
    // On the validation set training used: the official valid split, or the held-out
    // patients best.ckpt records.
    CalibrateOptions co;
    co.data_dir = o.data_dir;
    co.checkpoint = co.output = best_path.string();
    co.split = o.val_source == "valid" ? "valid" : "heldout";
    co.tasks = o.tasks;
    co.skip_bad = o.skip_bad;
    co.dicom = o.dicom;
    co.dicom_window = o.dicom_window;
    co.fit_temperature = o.calibrate;
    co.threshold = o.threshold;
    co.seed = o.seed;
    co.batch_size = o.batch_size;
    co.runtime = o.runtime;
    co.runtime.group = nullptr;
    const CalibrateResult c = run_calibration(co, sink);
    for (const auto& line : split(c.report, '\n'))
      if (!line.empty()) sink.info(line);
  }
  if (session.reducer) {
    result.allreduce_wait_seconds = session.reducer->wait_seconds();
    char line[240];
    std::snprintf(
        line, sizeof line,
        "data parallel over %d processes: %.2f s of %.2f s training waited for gradient "
        "all-reduces (%.1f%%; %.1f MB all-reduced per step in %zu bucket(s))",
        rt.group->size(), result.allreduce_wait_seconds, result.train_seconds,
        result.train_seconds > 0 ? 100 * result.allreduce_wait_seconds / result.train_seconds : 0.0,
        static_cast<double>(session.reducer->bytes_per_step()) / 1e6,
        session.reducer->num_buckets());
    sink.info(line);
  }
  return result;
}

}  // namespace

TrainResult run_training(const train::TrainOptions& options, Sink& sink) {
  return at_boundary("training " + options.model + " on " + options.data_dir,
                     [&] { return train_composed(options, sink); });
}

}  // namespace mura::app
