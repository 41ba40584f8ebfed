#include "mura/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "mura/data/split.h"
#include "mura/models/inference.h"
#include "mura/models/optimize.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/util/torch_compat.h"
#include "mura/weights/torchvision.h"

namespace mura::train {
namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

const NameTable<std::string>& optimizer_names() {
  static const NameTable<std::string> table("--optimizer",
                                            {{"adam", "adam", {}}, {"adamw", "adamw", {}}});
  return table;
}

const NameTable<std::string>& monitor_names() {
  static const NameTable<std::string> table(
      "--monitor", {{"auc", "auc", {"val-auc", "auroc", "study-auc"}},
                    {"accuracy", "accuracy", {"acc", "val-acc", "val-accuracy"}},
                    {"loss", "loss", {"val-loss"}}});
  return table;
}

const NameTable<std::string>& val_source_names() {
  static const NameTable<std::string> table("--val-source",
                                            {{"split", "split", {}}, {"valid", "valid", {}}});
  return table;
}

// Every field that a checkpoint records, as flat JSON keys (the runtime's fields keep the
// names they had before RuntimeOptions existed, so old checkpoints still read).
// clang-format off
#define MURA_OPTION_FIELDS(X)                                                                   \
  X(data_dir) X(tasks) X(skip_bad) X(val_split) X(val_source) X(image_size) X(cache)           \
  X(hflip) X(rotate) X(brightness) X(contrast) X(crop_scale) X(erasing) X(model)              \
  X(pretrained) X(freeze) X(sync_bn)                                                            \
  X(load_checkpoint) X(epochs) X(batch_size) X(lr) X(optimizer) X(weight_decay) X(loss)        \
  X(scheduler) X(monitor) X(factor) X(patience) X(early_stop) X(max_steps) X(output_dir)       \
  X(checkpoint) X(seed) X(dicom_window) X(calibrate) X(threshold)
#define MURA_RUNTIME_FIELDS(X) \
  X(workers) X(device) X(precision) X(channels_last) X(deterministic) X(threads)
// clang-format on

std::string options_to_json(const TrainOptions& o) {
  json j;
#define X(f) j[#f] = o.f;
  MURA_OPTION_FIELDS(X)
#undef X
#define X(f) j[#f] = o.runtime.f;
  MURA_RUNTIME_FIELDS(X)
#undef X
  // A DICOM tree's files (never the pseudonym key, which is a secret).
  j["dicom_labels"] = o.dicom.labels.string();
  j["dicom_body_part_map"] = o.dicom.body_part_map.string();
  j["dicom_pseudonymize"] = o.dicom.pseudonymize;
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
#define X(f) \
  if (j.contains(#f)) j.at(#f).get_to(o.runtime.f);
    MURA_RUNTIME_FIELDS(X)
#undef X
    if (j.contains("dicom_labels")) o.dicom.labels = j.at("dicom_labels").get<std::string>();
    if (j.contains("dicom_body_part_map"))
      o.dicom.body_part_map = j.at("dicom_body_part_map").get<std::string>();
    if (j.contains("dicom_pseudonymize")) j.at("dicom_pseudonymize").get_to(o.dicom.pseudonymize);
  } catch (const json::exception& e) {
    throw Error(std::string("cannot read training options: ") + e.what());
  }
  return o;
}

weights::HeldOutSplit held_out_split(const TrainOptions& o) {
  weights::HeldOutSplit s;
  s.recorded = true;
  s.val_source = o.val_source;
  s.val_fraction = o.val_split;
  s.seed = o.seed;
  s.tasks = o.tasks;
  return s;
}

void check_options(const TrainOptions& o) {
  monitor_names().parse(o.monitor);
  optimizer_names().parse(o.optimizer);
  val_source_names().parse(o.val_source);
  data::cache_mode_names().parse(o.cache);
  scheduler_names().parse(o.scheduler);
  loss_names().parse(o.loss);
  MURA_CHECK(o.epochs >= 1, "--epochs must be at least 1");
  MURA_CHECK(o.batch_size >= 1, "--batch-size must be at least 1");
  MURA_CHECK(o.lr > 0, "--lr must be positive");
}

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

namespace {

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

SchedulerOptions scheduler_options(const TrainOptions& o) {
  SchedulerOptions so;
  so.kind = parse_scheduler(o.scheduler);
  so.maximize = o.monitor != "loss";
  so.factor = o.factor;
  so.patience = o.patience;
  so.total_epochs = o.epochs;
  return so;
}

}  // namespace

ModelSetup build_model(TrainOptions& o, const Runtime& rt, Sink& sink) {
  const LossKind loss_kind = parse_loss(o.loss);
  ModelSetup s;
  if (!o.load_checkpoint.empty()) {
    s.resuming = true;
    s.resume = weights::load_checkpoint(o.load_checkpoint);
    s.model = s.resume.model;
    s.spec = s.resume.spec;
    if (s.spec.image_size != o.image_size)
      sink.warn("the checkpoint's input size " + std::to_string(s.spec.image_size) + " is used");
    o.image_size = s.spec.image_size;
    o.model = s.spec.arch;
    if (s.spec.temperature != 1.0 || !s.spec.calibration.empty()) {
      sink.warn(o.load_checkpoint + " was calibrated (threshold " +
                weights::describe_threshold(s.spec) +
                "): training changes the model, so its threshold and temperature go back to 0.5 "
                "and 1 (--calibrate / --threshold choose them again at the end)");
      s.spec.threshold = 0.5;
      s.spec.temperature = 1.0;
      s.spec.calibration = {};
      s.model->set_temperature(1.0);
    }
    if (s.resume.state.epoch >= o.epochs && s.resume.state.batches_done_in_epoch == 0)
      throw Error("--epochs " + std::to_string(o.epochs) + ": " + o.load_checkpoint + " has done " +
                  std::to_string(s.resume.state.epoch) +
                  " epochs already (--epochs is the total to reach)");
  } else {
    torch::manual_seed(o.seed);
    s.model = models::create_model(o.model, loss_outputs(loss_kind));
    s.spec.arch = s.model->arch();
    s.spec.num_outputs = s.model->num_outputs();
    s.spec.image_size = o.image_size;
    if (!o.pretrained.empty()) {
      if (is_mura_checkpoint(o.pretrained)) {
        auto src = weights::load_checkpoint(o.pretrained);
        weights::load_state_dict(*s.model, weights::model_state_dict(*src.model), o.pretrained);
      } else {
        const auto rep = weights::load_torchvision_weights(*s.model, o.pretrained);
        sink.info("loaded " + std::to_string(rep.loaded) + " tensors from " + o.pretrained +
                  (rep.skipped_head.empty() ? "" : " (new head)"));
      }
    }
  }
  if (s.model->num_outputs() != loss_outputs(loss_kind))
    throw Error(std::string("--loss ") + loss_name(loss_kind) + " needs a " +
                std::to_string(loss_outputs(loss_kind)) + "-output head, the model has " +
                std::to_string(s.model->num_outputs()));
  s.model->to(rt.device);
  s.model->set_frozen(o.freeze);
  if (rt.channels_last) models::to_channels_last(*s.model);
  // Data parallel: every rank starts from rank 0's weights (and buffers).
  broadcast_model(*s.model, *rt.group);
  if (o.sync_bn) s.model->set_batchnorm_group(rt.group);
  return s;
}

Loaders make_loaders(const TrainOptions& o, const weights::ModelSpec& spec, const Runtime& rt,
                     Sink&) {
  data::IndexOptions iopt;
  iopt.on_bad = o.skip_bad ? data::BadEntryPolicy::Skip : data::BadEntryPolicy::Fail;
  iopt.dicom = o.dicom;
  iopt.dicom.split = data::Split::Train;
  data::Dataset ds = data::filter_body_parts(data::index_dataset(o.data_dir, iopt), o.tasks);
  std::vector<std::size_t> train_idx, val_idx;
  if (val_source_names().canonical(o.val_source) == "split") {
    const auto sp = data::split_patients(ds, {o.val_split, o.seed, data::Split::Train});
    train_idx = sp.train_images;
    val_idx = sp.val_images;
  } else {
    train_idx = ds.images_of(data::Split::Train);
    val_idx = ds.images_of(data::Split::Valid);
  }
  MURA_CHECK(!train_idx.empty(), "no training images (check --data-dir and --tasks)");
  MURA_CHECK(!val_idx.empty(), "no validation images: raise --val-split or use --val-source valid");
  Loaders l;
  l.train_samples = data::make_samples(ds, train_idx);
  l.val_samples = data::make_samples(ds, val_idx);

  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.decode.dicom_window = o.dicom_window;
  lo.workers = rt.threads.loader_workers;
  lo.channels_last = rt.channels_last;
  lo.pin_memory = rt.device.is_cuda();
  lo.seed = o.seed;
  lo.shuffle = true;
  lo.shard_rank = rt.group->rank();
  lo.shard_count = rt.group->size();
  lo.cache = data::parse_cache_mode(o.cache);
  lo.cache_dir = fs::path(o.output_dir) / "cache";
  lo.transform.size = o.image_size;
  lo.transform.hflip = o.hflip;
  lo.transform.rotate_degrees = o.rotate;
  lo.transform.brightness = o.brightness;
  lo.transform.contrast = o.contrast;
  lo.transform.crop_scale = o.crop_scale;
  lo.transform.erasing = o.erasing;
  lo.transform.mean = spec.mean;
  lo.transform.std = spec.std;
  // A last batch of one image breaks BatchNorm in train mode, and one smaller than the
  // number of processes would leave a process without images: drop it.
  const std::size_t rest = l.train_samples.size() % static_cast<std::size_t>(o.batch_size);
  lo.drop_last =
      rest > 0 && rest < std::max<std::size_t>(2, static_cast<std::size_t>(lo.shard_count));
  l.train = std::make_unique<data::Loader>(l.train_samples, lo);
  data::LoaderOptions vo = lo;
  vo.shuffle = false;
  vo.drop_last = false;  // every validation image, each scored by one rank
  vo.transform = data::TransformOptions::evaluation(o.image_size);
  vo.transform.mean = spec.mean;
  vo.transform.std = spec.std;
  l.val = std::make_unique<data::Loader>(l.val_samples, vo);
  return l;
}

Session make_session(const TrainOptions& o, const ModelSetup& setup, const Loaders& loaders,
                     const Runtime& rt) {
  Session s;
  std::vector<std::string> parts;
  std::vector<int> labels;
  for (const auto& x : loaders.train_samples) {
    parts.push_back(x.body_part);
    labels.push_back(x.label);
  }
  s.loss = std::make_unique<Loss>(parse_loss(o.loss), mura_class_weights(parts, labels));
  if (optimizer_names().canonical(o.optimizer) == "adam")
    s.optimizer = std::make_unique<torch::optim::Adam>(
        setup.model->parameters(), torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  else
    s.optimizer = std::make_unique<torch::optim::AdamW>(
        setup.model->parameters(), torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  const SchedulerOptions so = scheduler_options(o);
  s.scheduler = std::make_unique<Scheduler>(so, o.lr);
  GradScalerOptions gso;
  gso.enabled = rt.precision.precision == Precision::FP16;
  s.scaler = std::make_unique<GradScaler>(gso);
  if (rt.group->size() > 1) s.reducer = std::make_unique<GradientReducer>(*setup.model, rt.group);
  if (setup.resuming) {
    const weights::Checkpoint& r = setup.resume;
    if (!r.optimizer_state.empty()) weights::restore_optimizer(r, *s.optimizer);
    s.scheduler->load_state_json(r.state.scheduler_json);
    if (o.lr_given)
      s.scheduler = std::make_unique<Scheduler>(so, o.lr);  // a new phase: the lr asked for
    set_learning_rate(*s.optimizer, s.scheduler->lr());
    if (s.scaler->enabled() && r.state.grad_scaler_json != "{}")
      s.scaler->load_state_json(r.state.grad_scaler_json);
    if (r.rng_state.defined()) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle on the global generator
      gen.set_state(r.rng_state);
    }
    s.start_epoch = static_cast<int>(r.state.epoch);
    s.step = r.state.global_step;
    s.skip_batches = r.state.batches_done_in_epoch;
    if (!std::isnan(r.state.best_metric) && r.state.best_metric_name == o.monitor) {
      s.best = r.state.best_metric;
      s.has_best = true;
    }
  }
  return s;
}

EpochOutcome train_epoch(const TrainOptions& o, ModelSetup& setup, Loaders& loaders, Session& s,
                         const Runtime& rt, int epoch, Sink& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool autocast = uses_autocast(rt.precision.precision);
  const torch::ScalarType autocast_type = autocast_dtype(rt.precision.precision);
  auto& model = *setup.model;
  data::Loader& loader = *loaders.train;
  model.train();
  loader.start_epoch(static_cast<std::uint64_t>(epoch), static_cast<std::size_t>(s.skip_batches));
  EpochOutcome out;
  std::int64_t batches = s.skip_batches;
  s.skip_batches = 0;
  ProgressEvent ev;
  ev.stage = "train";
  ev.epoch = epoch + 1;
  ev.epochs = o.epochs;
  ev.total = loader.num_batches();
  Collective& group = *rt.group;
  std::size_t global_seen = 0;
  while (auto batch = loader.next()) {
    auto x = batch->images.to(rt.device, true);
    torch::Tensor logits;
    {
      compat::AutocastGuard guard(rt.device, autocast_type, autocast);
      logits = model.forward(x);
    }
    // the loss in fp32, outside autocast
    const torch::Tensor loss =
        (*s.loss)(logits.to(torch::kFloat32), batch->labels, batch->body_parts);
    s.optimizer->zero_grad();
    if (s.reducer) {
      // This share's part of the global batch's mean loss; the reducer sums the gradients.
      s.reducer->prepare("all-reducing gradients (epoch " + std::to_string(epoch + 1) + ", step " +
                         std::to_string(s.step + 1) + ")");
      const double share =
          static_cast<double>(batch->size()) / static_cast<double>(batch->global_size);
      s.scaler->scale_loss(loss * share).backward();
      s.reducer->finish();
    } else {
      s.scaler->scale_loss(loss).backward();
    }
    s.scaler->step(*s.optimizer);
    ++s.step;
    ++batches;
    out.loss_sum += loss.item<double>() * batch->size();
    out.seen += batch->size();
    global_seen += batch->global_size;
    ev.done = static_cast<std::size_t>(batches);
    ev.images = global_seen;
    ev.loss = out.loss_sum / out.seen;
    ev.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sink.progress(ev);
    if (o.on_step) o.on_step(s.step);
    if (group.size() > 1) {
      // Ranks stop together: one interrupted process stops them all at the same step.
      std::vector<torch::Tensor> flag{torch::full({1}, stop_requested() ? 1.0f : 0.0f)};
      group.all_reduce_sum(flag, "agreeing on a stop (step " + std::to_string(s.step) + ")");
      if (flag[0].item<float>() > 0) stop_requested() = true;
    }
    if (stop_requested()) {
      out.interrupted = true;
      out.batches_done = batches;
      break;
    }
    if (o.max_steps > 0 && s.step >= o.max_steps) {
      out.hit_max_steps = true;
      break;
    }
  }
  out.batches_done = batches;
  if (group.size() > 1) {
    // The epoch's loss and image count over every rank.
    std::vector<torch::Tensor> t{
        torch::tensor({out.loss_sum, static_cast<double>(out.seen)}, torch::kFloat64)};
    group.all_reduce_sum(t, "summing the epoch's training loss");
    out.loss_sum = t[0][0].item<double>();
    out.seen = static_cast<std::size_t>(t[0][1].item<double>());
  }
  return out;
}

Validation validate(ModelSetup& setup, Loaders& loaders, Session& s, const Runtime& rt) {
  auto& model = *setup.model;
  const auto& val_samples = loaders.val_samples;
  const bool autocast = uses_autocast(rt.precision.precision);
  const torch::ScalarType autocast_type = autocast_dtype(rt.precision.precision);
  model.eval();
  std::vector<double> probabilities(val_samples.size(), 0.0);
  std::vector<std::pair<std::size_t, double>> scored;  // this rank's (index, probability)
  double vloss = 0;
  {
    torch::InferenceMode guard;
    loaders.val->start_epoch(0);
    while (auto b = loaders.val->next()) {
      if (b->size() == 0) continue;  // this rank's share of a small last batch
      torch::Tensor logits;
      {
        compat::AutocastGuard ag(rt.device, autocast_type, autocast);
        logits = model.forward(b->images.to(rt.device, true)).to(torch::kFloat32);
      }
      vloss += (*s.loss)(logits, b->labels, b->body_parts).item<double>() * b->size();
      const auto p =
          models::probabilities_from_logits(logits).to(torch::kCPU, torch::kFloat64).contiguous();
      for (std::size_t j = 0; j < b->size(); ++j) {
        probabilities[b->indices[j]] = p.data_ptr<double>()[j];
        scored.emplace_back(b->indices[j], p.data_ptr<double>()[j]);
      }
    }
  }
  Collective& group = *rt.group;
  if (group.size() > 1) {
    // Every rank scored its share of each batch: gather (index, probability) pairs, so that
    // every rank holds the whole set's probabilities and computes the same metrics.
    std::vector<double> mine_idx, mine_p;
    for (const auto& [index, p] : scored) {
      mine_idx.push_back(static_cast<double>(index));
      mine_p.push_back(p);
    }
    const auto idx = group.all_gather_ragged(torch::tensor(mine_idx, torch::kFloat64),
                                             "gathering validation indices");
    const auto ps = group.all_gather_ragged(torch::tensor(mine_p, torch::kFloat64),
                                            "gathering validation probabilities");
    std::size_t filled = 0;
    for (std::size_t r = 0; r < idx.size(); ++r) {
      const auto ri = idx[r].contiguous(), rp = ps[r].contiguous();
      for (std::int64_t j = 0; j < ri.size(0); ++j) {
        probabilities[static_cast<std::size_t>(ri.data_ptr<double>()[j])] =
            rp.data_ptr<double>()[j];
        ++filled;
      }
    }
    MURA_ASSERT(filled == val_samples.size(), "validation shares cover " + std::to_string(filled) +
                                                  " of " + std::to_string(val_samples.size()) +
                                                  " images");
    std::vector<torch::Tensor> l{torch::full({1}, vloss, torch::kFloat64)};
    group.all_reduce_sum(l, "summing the validation loss");
    vloss = l[0].item<double>();
  }
  Validation v;
  v.loss = vloss / static_cast<double>(val_samples.size());
  v.probabilities = std::move(probabilities);
  return v;
}

void save_training_checkpoint(const std::string& path, const TrainOptions& o,
                              const ModelSetup& setup, const Session& s, const Runtime& rt,
                              int epochs_done, std::int64_t batches_done) {
  weights::TrainingState st;
  st.epoch = epochs_done;
  st.global_step = s.step;
  st.batches_done_in_epoch = batches_done;
  st.best_metric_name = o.monitor;
  st.best_metric = s.has_best ? s.best : std::nan("");
  st.options_json = options_to_json(o);
  st.scheduler_json = s.scheduler->state_json();
  st.precision = precision_name(rt.precision.precision);
  st.channels_last = rt.channels_last;
  if (s.scaler->enabled()) st.grad_scaler_json = s.scaler->state_json();
  st.split = held_out_split(o);
  if (rt.group->rank() == 0)
    weights::save_checkpoint(path, setup.spec, *setup.model, st, s.optimizer.get(),
                             /*save_rng=*/true);
  rt.group->barrier("waiting for rank 0 to write " + path);
}

}  // namespace mura::train
