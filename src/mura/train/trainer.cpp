#include "mura/train/trainer.h"

#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mura/data/dataset.h"
#include "mura/data/loader.h"
#include "mura/data/split.h"
#include "mura/eval/aggregate.h"
#include "mura/eval/inference.h"
#include "mura/models/optimize.h"
#include "mura/models/registry.h"
#include "mura/train/grad_scaler.h"
#include "mura/train/loss.h"
#include "mura/train/schedule.h"
#include "mura/util/atomic_file.h"
#include "mura/util/device.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/threads.h"
#include "mura/util/torch_compat.h"
#include "mura/weights/checkpoint.h"
#include "mura/weights/torchvision.h"

namespace mura::train {
namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

#define MURA_OPTION_FIELDS(X)                                                                    \
  X(data_dir) X(tasks) X(skip_bad) X(val_split) X(val_source) X(image_size) X(workers) X(cache) \
  X(hflip) X(rotate) X(brightness) X(contrast) X(model) X(pretrained) X(freeze)                 \
  X(load_checkpoint) X(epochs) X(batch_size) X(lr) X(optimizer) X(weight_decay) X(loss)         \
  X(scheduler) X(monitor) X(factor) X(patience) X(early_stop) X(max_steps) X(output_dir)        \
  X(checkpoint) X(device) X(precision) X(channels_last) X(deterministic) X(seed) X(threads)

std::string options_to_json(const TrainOptions& o) {
  json j;
#define X(f) j[#f] = o.f;
  MURA_OPTION_FIELDS(X)
#undef X
  return j.dump();
}

TrainOptions options_from_json(const std::string& text) {
  TrainOptions o;
  try {
    const json j = json::parse(text);
#define X(f) \
  if (j.contains(#f)) j.at(#f).get_to(o.f);
    MURA_OPTION_FIELDS(X)
#undef X
  } catch (const json::exception& e) {
    throw Error(std::string("cannot read training options: ") + e.what());
  }
  return o;
}

namespace {

double monitored(const std::string& monitor, const EpochRecord& r) {
  if (monitor == "auc") return r.study_auc;
  if (monitor == "accuracy") return r.study_accuracy;
  return r.val_loss;
}

bool improves(const std::string& monitor, double value, double best, bool has_best) {
  if (std::isnan(value)) return false;
  if (!has_best) return true;
  return monitor == "loss" ? value < best : value > best;
}

/// A one-line progress bar on stderr: redrawn in place on a terminal, every ~10% otherwise.
class Progress {
 public:
  Progress(bool enabled, int epoch, int epochs, std::size_t total)
      : enabled_(enabled), tty_(::isatty(2) != 0), epoch_(epoch), epochs_(epochs), total_(total),
        start_(std::chrono::steady_clock::now()) {}
  void update(std::size_t done, double loss, std::size_t images) {
    if (!enabled_ || total_ == 0) return;
    const bool milestone = done * 10 / total_ != last_decile_;
    if (!tty_ && !milestone && done != total_) return;
    last_decile_ = done * 10 / total_;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double ips = secs > 0 ? images / secs : 0;
    const double eta = done > 0 ? secs / done * (total_ - done) : 0;
    const int width = 24, filled = static_cast<int>(width * done / total_);
    std::fprintf(stderr, "%sepoch %d/%d [%s%s] %zu/%zu loss %.4f %.1f img/s ETA %d:%02d%s",
                 tty_ ? "\r" : "", epoch_, epochs_, std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), done, total_, loss, ips,
                 static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty_ ? "" : "\n");
    if (tty_ && done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_, tty_;
  int epoch_, epochs_;
  std::size_t total_, last_decile_ = 0;
  std::chrono::steady_clock::time_point start_;
};

json record_json(const EpochRecord& r) {
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  return {{"epoch", r.epoch},
          {"step", r.step},
          {"lr", r.lr},
          {"train_loss", num(r.train_loss)},
          {"val_loss", num(r.val_loss)},
          {"val_image_auc", num(r.image_auc)},
          {"val_image_accuracy", num(r.image_accuracy)},
          {"val_image_kappa", num(r.image_kappa)},
          {"val_study_auc", num(r.study_auc)},
          {"val_study_accuracy", num(r.study_accuracy)},
          {"val_study_kappa", num(r.study_kappa)},
          {"seconds", r.seconds},
          {"images_per_s", r.images_per_s},
          {"best", r.best}};
}

/// metrics.jsonl rows of earlier runs (for a resumed run: those up to `up_to_epoch`).
std::vector<json> previous_rows(const fs::path& jsonl, int up_to_epoch) {
  std::vector<json> rows;
  std::ifstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      if (j.at("epoch").get<int>() <= up_to_epoch) rows.push_back(j);
    } catch (const json::exception&) {
      // a foreign or damaged line: not ours to keep
    }
  }
  return rows;
}

/// Rewrites metrics.csv and metrics.jsonl atomically from all rows.
void write_metrics(const fs::path& dir, const std::vector<json>& rows) {
  static const char* cols[] = {"epoch",          "step",           "lr",
                               "train_loss",     "val_loss",       "val_image_auc",
                               "val_image_accuracy", "val_image_kappa", "val_study_auc",
                               "val_study_accuracy", "val_study_kappa", "seconds",
                               "images_per_s",   "best"};
  std::ostringstream csv, jsonl;
  for (std::size_t i = 0; i < std::size(cols); ++i) csv << (i ? "," : "") << cols[i];
  csv << "\n";
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < std::size(cols); ++i) {
      const json& v = r.contains(cols[i]) ? r.at(cols[i]) : json(nullptr);
      csv << (i ? "," : "");
      if (v.is_boolean()) csv << (v.get<bool>() ? 1 : 0);
      else if (v.is_number_float()) csv << std::to_string(v.get<double>());
      else if (!v.is_null()) csv << v.dump();
    }
    csv << "\n";
    jsonl << r.dump() << "\n";
  }
  write_file_atomic(dir / "metrics.csv", csv.str());
  write_file_atomic(dir / "metrics.jsonl", jsonl.str());
}

bool is_mura_checkpoint(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char sig[4] = {};
  in.read(sig, 4);
  if (std::string(sig, 4) != std::string("PK\x03\x04", 4)) return false;
  try {
    weights::load_checkpoint(p);
    return true;
  } catch (const Error&) {
    return false;
  }
}

struct Validation {
  double loss = 0;
  std::vector<double> probabilities;
};

}  // namespace

TrainResult train(const TrainOptions& opt_in) {
  TrainOptions o = opt_in;
  const torch::Device device = resolve_device(o.device);
  const PrecisionChoice precision = resolve_precision(o.precision, device);
  const ThreadPlan threads = plan_threads(o.threads, o.workers, device.is_cuda());
  apply_thread_plan(threads, o.threads > 0);
  compat::configure_cuda(device, o.deterministic);
  if (o.monitor != "auc" && o.monitor != "accuracy" && o.monitor != "loss")
    throw Error("--monitor: expected auc, accuracy or loss, got '" + o.monitor + "'");
  if (o.optimizer != "adam" && o.optimizer != "adamw")
    throw Error("--optimizer: expected adam or adamw, got '" + o.optimizer + "'");
  if (o.epochs < 1) throw Error("--epochs must be at least 1");
  const LossKind loss_kind = parse_loss(o.loss);

  // ---- model (and what a resumed run restores)
  weights::Checkpoint resume;
  std::shared_ptr<models::ClassifierImpl> model;
  weights::ModelSpec spec;
  if (!o.load_checkpoint.empty()) {
    resume = weights::load_checkpoint(o.load_checkpoint);
    model = resume.model;
    spec = resume.spec;
    if (spec.image_size != o.image_size)
      std::cerr << "mura: note: the checkpoint's input size " << spec.image_size << " is used\n";
    o.image_size = spec.image_size;
    o.model = spec.arch;
    if (resume.state.epoch >= o.epochs && resume.state.batches_done_in_epoch == 0)
      throw Error("--epochs " + std::to_string(o.epochs) + ": " + o.load_checkpoint + " has done " +
                  std::to_string(resume.state.epoch) +
                  " epochs already (--epochs is the total to reach)");
  } else {
    torch::manual_seed(o.seed);
    model = models::create_model(o.model, loss_outputs(loss_kind));
    spec.arch = model->arch();
    spec.num_outputs = model->num_outputs();
    spec.image_size = o.image_size;
    if (!o.pretrained.empty()) {
      if (is_mura_checkpoint(o.pretrained)) {
        auto src = weights::load_checkpoint(o.pretrained);
        weights::load_state_dict(*model, weights::model_state_dict(*src.model), o.pretrained);
      } else {
        const auto rep = weights::load_torchvision_weights(*model, o.pretrained);
        std::cerr << "mura: loaded " << rep.loaded << " tensors from " << o.pretrained
                  << (rep.skipped_head.empty() ? "" : " (new head)") << "\n";
      }
    }
  }
  if (model->num_outputs() != loss_outputs(loss_kind))
    throw Error(std::string("--loss ") + loss_name(loss_kind) + " needs a " +
                std::to_string(loss_outputs(loss_kind)) + "-output head, the model has " +
                std::to_string(model->num_outputs()));
  model->to(device);
  model->set_frozen(o.freeze);
  if (o.channels_last) models::to_channels_last(*model);
  if (o.progress)
    std::cerr << "mura: " << spec.arch << " on " << device.str() << ", " << precision_name(precision.precision)
              << " (" << precision.reason << "), " << (o.channels_last ? "channels-last" : "contiguous")
              << ", " << threads.describe() << "\n";

  // ---- data
  data::IndexOptions iopt;
  iopt.on_bad = o.skip_bad ? data::BadEntryPolicy::Skip : data::BadEntryPolicy::Fail;
  data::Dataset ds = data::filter_body_parts(data::index_dataset(o.data_dir, iopt), o.tasks);
  std::vector<std::size_t> train_idx, val_idx;
  if (o.val_source == "split") {
    const auto sp = data::split_patients(ds, {o.val_split, o.seed, data::Split::Train});
    train_idx = sp.train_images;
    val_idx = sp.val_images;
  } else if (o.val_source == "valid") {
    train_idx = ds.images_of(data::Split::Train);
    val_idx = ds.images_of(data::Split::Valid);
  } else {
    throw Error("--val-source: expected split or valid, got '" + o.val_source + "'");
  }
  if (train_idx.empty()) throw Error("no training images (check --data-dir and --tasks)");
  if (val_idx.empty())
    throw Error("no validation images: raise --val-split or use --val-source valid");
  const auto train_samples = data::make_samples(ds, train_idx);
  const auto val_samples = data::make_samples(ds, val_idx);

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.workers = threads.loader_workers;
  lo.channels_last = o.channels_last;
  lo.pin_memory = device.is_cuda();
  lo.seed = o.seed;
  lo.shuffle = true;
  lo.cache = data::parse_cache_mode(o.cache);
  lo.cache_dir = fs::path(o.output_dir) / "cache";
  lo.transform.size = o.image_size;
  lo.transform.hflip = o.hflip;
  lo.transform.rotate_degrees = o.rotate;
  lo.transform.brightness = o.brightness;
  lo.transform.contrast = o.contrast;
  lo.transform.mean = spec.mean;
  lo.transform.std = spec.std;
  // A last batch of one image breaks BatchNorm in train mode: drop it.
  lo.drop_last = train_samples.size() % static_cast<std::size_t>(o.batch_size) == 1;
  data::Loader train_loader(train_samples, lo);
  data::LoaderOptions vo = lo;
  vo.shuffle = false;
  vo.drop_last = false;
  vo.transform = data::TransformOptions::evaluation(o.image_size);
  vo.transform.mean = spec.mean;
  vo.transform.std = spec.std;
  data::Loader val_loader(val_samples, vo);

  std::vector<std::string> parts;
  std::vector<int> labels;
  for (const auto& s : train_samples) {
    parts.push_back(s.body_part);
    labels.push_back(s.label);
  }
  const Loss loss_fn(loss_kind, mura_class_weights(parts, labels));

  // ---- optimisation
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "adam")
    optimizer = std::make_unique<torch::optim::Adam>(
        model->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  else
    optimizer = std::make_unique<torch::optim::AdamW>(
        model->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  SchedulerOptions so;
  so.kind = parse_scheduler(o.scheduler);
  so.maximize = o.monitor != "loss";
  so.factor = o.factor;
  so.patience = o.patience;
  so.total_epochs = o.epochs;
  Scheduler scheduler(so, o.lr);
  GradScalerOptions gso;
  gso.enabled = precision.precision == Precision::FP16;
  GradScaler scaler(gso);
  const bool autocast = uses_autocast(precision.precision);
  const torch::ScalarType autocast_type = autocast_dtype(precision.precision);

  int start_epoch = 0;
  std::int64_t step = 0, skip_batches = 0;
  double best = 0;
  bool has_best = false;
  const fs::path out_dir(o.output_dir);
  fs::create_directories(out_dir);
  const fs::path best_path = o.checkpoint.empty() ? out_dir / "best.ckpt" : fs::path(o.checkpoint);
  const fs::path last_path = out_dir / "last.ckpt";
  if (o.load_checkpoint.empty() && !o.overwrite) {
    for (const fs::path& p : {best_path, last_path, out_dir / "metrics.jsonl"})
      if (fs::exists(p))
        throw Error("--output-dir " + o.output_dir + " already holds a training run (" + p.filename().string() +
                    "): resume it with --load-checkpoint " + last_path.string() +
                    ", choose another --output-dir, or pass --overwrite");
  }
  if (!o.load_checkpoint.empty()) {
    if (!resume.optimizer_state.empty()) weights::restore_optimizer(resume, *optimizer);
    scheduler.load_state_json(resume.state.scheduler_json);
    if (o.lr_given) {  // a new phase: the lr asked for replaces the restored one
      scheduler = Scheduler(so, o.lr);
    }
    set_learning_rate(*optimizer, scheduler.lr());
    if (scaler.enabled() && resume.state.grad_scaler_json != "{}") scaler.load_state_json(resume.state.grad_scaler_json);
    if (resume.rng_state.defined()) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle on the global generator
      gen.set_state(resume.rng_state);
    }
    start_epoch = static_cast<int>(resume.state.epoch);
    step = resume.state.global_step;
    skip_batches = resume.state.batches_done_in_epoch;
    if (!std::isnan(resume.state.best_metric) && resume.state.best_metric_name == o.monitor) {
      best = resume.state.best_metric;
      has_best = true;
    }
  }
  std::vector<json> rows = previous_rows(out_dir / "metrics.jsonl", start_epoch);
  if (stop_requested()) {
    std::cerr << "mura: interrupted before training started; nothing written\n";
    TrainResult r;
    r.interrupted = true;
    return r;
  }

  auto save = [&](const fs::path& path, int epochs_done, std::int64_t batches_done) {
    weights::TrainingState st;
    st.epoch = epochs_done;
    st.global_step = step;
    st.batches_done_in_epoch = batches_done;
    st.best_metric_name = o.monitor;
    st.best_metric = has_best ? best : std::nan("");
    st.options_json = options_to_json(o);
    st.scheduler_json = scheduler.state_json();
    st.precision = precision_name(precision.precision);
    st.channels_last = o.channels_last;
    if (scaler.enabled()) st.grad_scaler_json = scaler.state_json();
    weights::save_checkpoint(path, spec, *model, st, optimizer.get(), /*save_rng=*/true);
  };

  TrainResult result;
  result.best_checkpoint = best_path.string();
  result.last_checkpoint = last_path.string();
  int epochs_without_improvement = 0;
  for (int epoch = start_epoch; epoch < o.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (epoch == start_epoch && lo.cache != data::CacheMode::None) {
      // Decode everything once with every core before the model runs, so that decoding never
      // competes with it for the cores; this epoch's time includes it.
      const std::size_t n = train_loader.fill_cache() + val_loader.fill_cache();
      if (o.progress && n > 0)
        std::fprintf(stderr, "mura: decoded %zu images into the cache in %.1f s\n", n,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    model->train();
    train_loader.start_epoch(static_cast<std::uint64_t>(epoch), static_cast<std::size_t>(skip_batches));
    Progress progress(o.progress, epoch + 1, o.epochs, train_loader.num_batches());
    double loss_sum = 0;
    std::size_t seen = 0, batches = static_cast<std::size_t>(skip_batches);
    skip_batches = 0;
    bool stopped = false;
    while (auto batch = train_loader.next()) {
      auto x = batch->images.to(device, true);
      torch::Tensor logits;
      {
        compat::AutocastGuard guard(device, autocast_type, autocast);
        logits = model->forward(x);
      }
      // the loss in fp32, outside autocast
      const torch::Tensor loss = loss_fn(logits.to(torch::kFloat32), batch->labels, batch->body_parts);
      optimizer->zero_grad();
      scaler.scale_loss(loss).backward();
      scaler.step(*optimizer);
      ++step;
      ++batches;
      loss_sum += loss.item<double>() * batch->size();
      seen += batch->size();
      progress.update(batches, loss_sum / seen, seen);
      if (o.on_step) o.on_step(step);
      if (stop_requested()) {
        save(last_path, epoch, static_cast<std::int64_t>(batches));
        std::cerr << "\nmura: interrupted: wrote " << last_path.string()
                  << "; resume with --load-checkpoint " << last_path.string() << "\n";
        result.interrupted = true;
        result.steps = step;
        return result;
      }
      if (o.max_steps > 0 && step >= o.max_steps) {
        stopped = true;
        break;
      }
    }
    const double train_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // ---- validation
    model->eval();
    Validation v;
    v.probabilities.assign(val_samples.size(), 0.0);
    double vloss = 0;
    {
      torch::InferenceMode guard;
      val_loader.start_epoch(0);
      while (auto b = val_loader.next()) {
        torch::Tensor logits;
        {
          compat::AutocastGuard guard(device, autocast_type, autocast);
          logits = model->forward(b->images.to(device, true)).to(torch::kFloat32);
        }
        vloss += loss_fn(logits, b->labels, b->body_parts).item<double>() * b->size();
        const auto p = eval::probabilities_from_logits(logits).to(torch::kCPU, torch::kFloat64).contiguous();
        for (std::size_t j = 0; j < b->size(); ++j) v.probabilities[b->indices[j]] = p.data_ptr<double>()[j];
      }
    }
    v.loss = vloss / static_cast<double>(val_samples.size());
    std::vector<eval::ImagePrediction> preds;
    for (std::size_t i = 0; i < val_samples.size(); ++i)
      preds.push_back({val_samples[i].study, val_samples[i].body_part, val_samples[i].label, v.probabilities[i]});
    const auto im = eval::metrics_of(preds);
    const auto st = eval::metrics_of(eval::aggregate_studies(preds));

    EpochRecord r;
    r.epoch = epoch + 1;
    r.step = step;
    r.lr = scheduler.lr();
    r.train_loss = seen ? loss_sum / seen : std::nan("");
    r.val_loss = v.loss;
    r.image_auc = im.auroc.value;
    r.image_accuracy = im.accuracy;
    r.image_kappa = im.kappa.value;
    r.study_auc = st.auroc.value;
    r.study_accuracy = st.accuracy;
    r.study_kappa = st.kappa.value;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.images_per_s = train_secs > 0 ? seen / train_secs : 0;
    const double m = monitored(o.monitor, r);
    if (improves(o.monitor, m, best, has_best)) {
      best = m;
      has_best = true;
      r.best = true;
      epochs_without_improvement = 0;
    } else {
      ++epochs_without_improvement;
    }
    const double next_lr = scheduler.step(epoch + 1, m);
    set_learning_rate(*optimizer, next_lr);
    if (r.best) save(best_path, epoch + 1, 0);
    save(last_path, epoch + 1, 0);
    rows.push_back(record_json(r));
    write_metrics(out_dir, rows);
    result.history.push_back(r);

    std::fprintf(stderr,
                 "epoch %d/%d  train_loss %.4f  val_loss %.4f  image auc %.4f acc %.4f kappa %.4f  "
                 "study auc %.4f acc %.4f kappa %.4f  lr %.2e%s\n",
                 r.epoch, o.epochs, r.train_loss, r.val_loss, r.image_auc, r.image_accuracy,
                 r.image_kappa, r.study_auc, r.study_accuracy, r.study_kappa, r.lr,
                 r.best ? "  *best" : "");
    if (stopped) break;
    if (o.early_stop > 0 && epochs_without_improvement >= o.early_stop) {
      std::fprintf(stderr, "mura: early stop: no improvement of %s for %d epochs\n", o.monitor.c_str(),
                   o.early_stop);
      break;
    }
  }
  result.best_metric = best;
  result.steps = step;
  return result;
}

}  // namespace mura::train
