#include "mura/app/evaluation.h"

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "mura/app/common.h"
#include "mura/data/loader.h"
#include "mura/data/split.h"
#include "mura/eval/summary.h"
#include "mura/models/inference.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura::app {
namespace fs = std::filesystem;

namespace {

EvaluateResult evaluate_composed(const EvaluateOptions& o, Sink& sink) {
  const std::string split = eval::evaluation_split_names().canonical(o.split);
  const bool from_checkpoint = o.threshold == "checkpoint";
  eval::ThresholdRule rule = eval::parse_threshold_rule(from_checkpoint ? "0.5" : o.threshold);
  const Runtime rt = resolve_runtime(o.runtime);
  const auto ckpts = load_for_inference(o.checkpoints, rt);
  std::string threshold_origin;
  if (from_checkpoint) {
    for (std::size_t i = 1; i < ckpts.size(); ++i)
      if (ckpts[i].spec.threshold != ckpts[0].spec.threshold)
        throw Error("--threshold: the ensemble's checkpoints have different thresholds (" +
                    o.checkpoints[0] + ": " + std::to_string(ckpts[0].spec.threshold) + ", " +
                    o.checkpoints[i] + ": " + std::to_string(ckpts[i].spec.threshold) +
                    "); give one");
    rule.value = ckpts[0].spec.threshold;
    threshold_origin = "the checkpoint's: " + weights::describe_threshold(ckpts[0].spec);
  }
  bool scaled = false;
  for (const auto& c : ckpts) scaled = scaled || c.spec.temperature != 1.0;
  // Where the results go is checked before the evaluation runs.
  const fs::path out =
      o.output_dir.empty() ? fs::path(o.checkpoints[0]).parent_path() : fs::path(o.output_dir);
  if (rt.group->rank() == 0)
    ensure_writable_dir(out, o.output_dir.empty() ? "--checkpoint's folder" : "--output-dir");

  // A DICOM tree has no official split: "valid" scores all of it, "heldout" indexes it as
  // train and takes the checkpoint's held-out patients.
  data::DicomTreeOptions dicom = o.dicom;
  dicom.split = split == "valid" ? data::Split::Valid : data::Split::Train;
  const data::Dataset ds = open_dataset(o.data_dir, o.tasks, o.skip_bad, sink, dicom);
  const std::vector<std::size_t> idx = evaluation_images(ds, split, ckpts[0], o.checkpoints[0]);
  const auto samples = data::make_samples(ds, idx);
  // Launched with several processes: each scores a contiguous block of whole batches (the
  // batches one process would form, so every image is computed in the same company) and the
  // probabilities are gathered in order; rank 0 writes.
  Collective& group = *rt.group;
  const std::size_t batches = (samples.size() + static_cast<std::size_t>(o.batch_size) - 1) /
                              static_cast<std::size_t>(o.batch_size);
  const auto [first_batch, end_batch] = share_of(batches, group.rank(), group.size());
  const std::size_t from =
      std::min(samples.size(), first_batch * static_cast<std::size_t>(o.batch_size));
  const std::size_t to =
      std::min(samples.size(), end_batch * static_cast<std::size_t>(o.batch_size));
  const std::vector<data::Sample> mine(samples.begin() + static_cast<std::ptrdiff_t>(from),
                                       samples.begin() + static_cast<std::ptrdiff_t>(to));

  // One loader per input geometry; an ensemble may mix input sizes.
  std::map<std::tuple<int, std::array<float, 3>, std::array<float, 3>>,
           std::vector<std::shared_ptr<models::ClassifierImpl>>>
      groups;
  for (const auto& c : ckpts)
    groups[{c.spec.image_size, c.spec.mean, c.spec.std}].push_back(c.model);
  std::vector<double> probs(samples.size(), 0.0), uncalibrated(scaled ? samples.size() : 0, 0.0);
  models::InferenceOptions io;
  io.device = rt.device;
  io.tta_flip = o.tta_flip;
  io.precision = rt.precision.precision;
  for (const auto& [geom, models] : groups) {
    weights::ModelSpec g;
    std::tie(g.image_size, g.mean, g.std) = geom;
    const data::LoaderOptions lo = inference_loader_options(g, o.batch_size, o.dicom_window, rt);
    data::Loader loader(mine, lo);
    loader.fill_cache();
    std::vector<double> p1;
    std::vector<double> p =
        models::predict_probabilities(models, loader, io, scaled ? &p1 : nullptr);
    for (auto* v : {&p, &p1}) {
      if (group.size() > 1 && (v == &p || scaled)) {
        const auto parts = group.all_gather_ragged(torch::tensor(*v, torch::kFloat64),
                                                   "gathering the probabilities");
        const auto all = torch::cat(parts).contiguous();
        v->assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
      }
    }
    MURA_ASSERT(p.size() == samples.size(), "scored " + std::to_string(p.size()) + " of " +
                                                std::to_string(samples.size()) + " images");
    const double share = static_cast<double>(models.size()) / static_cast<double>(ckpts.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      probs[i] += p[i] * share;
      if (scaled) uncalibrated[i] += p1[i] * share;
    }
  }

  std::vector<eval::EvaluatedImage> images;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    images.push_back({ds.images[idx[i]].mura_path, samples[i].study, samples[i].body_part,
                      samples[i].label, probs[i]});
    if (scaled) images.back().uncalibrated = uncalibrated[i];
  }
  eval::RunIdentity run;
  run.checkpoints = o.checkpoints;
  for (const auto& c : ckpts) run.architectures.push_back(c.spec.arch);
  run.data_dir = ds.root.string();
  run.split = split;
  run.tasks = o.tasks;
  run.tta_flip = o.tta_flip;
  run.precision = precision_name(rt.precision.precision);
  run.channels_last = rt.channels_last;
  run.fold_batchnorm = rt.fold_batchnorm;
  for (const auto& c : ckpts) run.temperatures.push_back(c.spec.temperature);
  EvaluateResult r;
  if (group.rank() != 0) return r;  // one writer
  const eval::Summary s =
      eval::summarize(images, run, {rule, threshold_origin, o.bootstrap, o.seed});

  write_file_atomic(out / "metrics.json", s.metrics_json + "\n");
  write_file_atomic(out / "predictions_images.csv", s.images_csv);
  write_file_atomic(out / "predictions_studies.csv", s.studies_csv);

  r.report = s.report + "wrote " + (out / "metrics.json").string() +
             ", predictions_images.csv, predictions_studies.csv\n";
  r.metrics_json = s.metrics_json;
  r.output_dir = out.string();
  r.study_auroc = s.study_auroc;
  r.image_auroc = s.image_auroc;
  return r;
}

}  // namespace

EvaluateResult run_evaluation(const EvaluateOptions& options, Sink& sink) {
  const std::string what =
      options.checkpoints.empty() ? std::string("a model") : options.checkpoints[0];
  return at_boundary("evaluating " + what, [&] { return evaluate_composed(options, sink); });
}

}  // namespace mura::app
