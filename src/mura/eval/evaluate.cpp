#include "mura/eval/evaluate.h"

#include <torch/torch.h>

#include <cmath>
#include <ctime>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mura/data/dataset.h"
#include "mura/data/loader.h"
#include "mura/data/split.h"
#include "mura/eval/aggregate.h"
#include "mura/eval/bootstrap.h"
#include "mura/eval/calibration.h"
#include "mura/eval/inference.h"
#include "mura/models/optimize.h"
#include "mura/train/trainer.h"
#include "mura/util/atomic_file.h"
#include "mura/util/device.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/threads.h"
#include "mura/util/torch_compat.h"
#include "mura/util/strings.h"
#include "mura/weights/checkpoint.h"

namespace mura::eval {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json num(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json score_json(const Score& s) {
  json j = {{"value", num(s.value)}};
  if (!s.defined()) j["undefined_reason"] = s.detail.empty() ? s.reason : s.detail;
  return j;
}

json metrics_json(const BinaryMetrics& m) {
  json report;
  const char* names[2] = {"normal", "abnormal"};
  for (int c = 0; c < 2; ++c)
    report[names[c]] = {{"precision", m.report.classes[c].precision},
                        {"recall", m.report.classes[c].recall},
                        {"f1-score", m.report.classes[c].f1},
                        {"support", m.report.classes[c].support}};
  report["accuracy"] = m.report.accuracy;
  report["macro avg"] = {{"precision", m.report.macro_avg.precision},
                         {"recall", m.report.macro_avg.recall},
                         {"f1-score", m.report.macro_avg.f1},
                         {"support", m.report.macro_avg.support}};
  report["weighted avg"] = {{"precision", m.report.weighted_avg.precision},
                            {"recall", m.report.weighted_avg.recall},
                            {"f1-score", m.report.weighted_avg.f1},
                            {"support", m.report.weighted_avg.support}};
  return {{"n", m.n},
          {"n_abnormal", m.n_pos},
          {"n_normal", m.n_neg},
          {"threshold", m.threshold},
          {"accuracy", m.accuracy},
          {"auroc", score_json(m.auroc)},
          {"average_precision", score_json(m.average_precision)},
          {"kappa", score_json(m.kappa)},
          {"sensitivity", score_json(m.sensitivity)},
          {"specificity", score_json(m.specificity)},
          {"confusion_matrix", {{m.confusion.tn, m.confusion.fp}, {m.confusion.fn, m.confusion.tp}}},
          {"classification_report", report}};
}

json interval_json(const BootstrapInterval& b) {
  return {{"point", num(b.point.value)}, {"lower", num(b.lower)},       {"upper", num(b.upper)},
          {"confidence", b.confidence},  {"resamples_used", b.n_used}, {"resamples_skipped", b.n_skipped}};
}

json calibration_json(const Calibration& c) {
  json bins = json::array();
  for (const auto& b : c.bins)
    bins.push_back({{"lower", b.lower},
                    {"upper", b.upper},
                    {"count", b.count},
                    {"mean_probability", num(b.mean_probability)},
                    {"observed_rate", num(b.observed_rate)}});
  return {{"ece", c.ece}, {"n", c.n}, {"bins", bins}};
}

template <class Item>
Calibration calibration_of(const std::vector<Item>& items) {
  std::vector<int> l;
  std::vector<double> s;
  labels_and_scores(items, l, s);
  return calibration(l, s, 10);
}

std::string level_text(const std::string& title, const BinaryMetrics& m, const BootstrapResult* ci) {
  std::ostringstream o;
  o << "== " << title << " (" << m.n << ": " << m.n_pos << " abnormal, " << m.n_neg
    << " normal; threshold " << m.threshold << ")\n";
  o << "  accuracy      " << std::fixed << std::setprecision(4) << m.accuracy << "\n";
  o << "  AUROC         " << (ci ? ci->auroc.format() : m.auroc.format()) << "\n";
  o << "  avg precision " << m.average_precision.format() << "\n";
  o << "  Cohen's kappa " << (ci ? ci->kappa.format() : m.kappa.format()) << "\n";
  if (ci) {
    o << "  sensitivity   " << ci->sensitivity.format() << "\n";
    o << "  specificity   " << ci->specificity.format() << "\n";
  } else {
    o << "  sensitivity   " << m.sensitivity.format() << "   specificity " << m.specificity.format() << "\n";
  }
  o << "  confusion matrix [[TN FP] [FN TP]] = [[" << m.confusion.tn << " " << m.confusion.fp << "] ["
    << m.confusion.fn << " " << m.confusion.tp << "]]\n\n";
  o << format_classification_report(m.report) << "\n";
  return o.str();
}

std::string parts_text(const std::map<std::string, BinaryMetrics>& parts) {
  std::ostringstream o;
  char line[200];
  std::snprintf(line, sizeof line, "  %-14s %6s %6s %9s %8s %8s %8s %8s\n", "body part", "n", "abn",
                "accuracy", "AUROC", "kappa", "sens", "spec");
  o << line;
  for (const auto& [part, m] : parts) {
    std::snprintf(line, sizeof line, "  %-14s %6zu %6zu %9.4f %8s %8s %8s %8s\n", part.c_str(), m.n,
                  m.n_pos, m.accuracy, m.auroc.defined() ? m.auroc.format().c_str() : "n/a",
                  m.kappa.defined() ? m.kappa.format().c_str() : "n/a",
                  m.sensitivity.defined() ? m.sensitivity.format().c_str() : "n/a",
                  m.specificity.defined() ? m.specificity.format().c_str() : "n/a");
    o << line;
  }
  return o.str();
}

}  // namespace

EvaluateResult evaluate(const EvaluateOptions& o) {
  if (o.checkpoints.empty()) throw Error("--checkpoint: give at least one checkpoint");
  const torch::Device device = resolve_device(o.device);
  const PrecisionChoice precision = resolve_precision(o.precision, device);
  const ThreadPlan threads = plan_threads(o.threads, o.workers, device.is_cuda());
  apply_thread_plan(threads, o.threads > 0);
  compat::configure_cuda(device, /*deterministic=*/false);
  std::vector<weights::Checkpoint> ckpts;
  for (const auto& c : o.checkpoints) {
    ckpts.push_back(weights::load_checkpoint(c, device));
    models::prepare_for_inference(*ckpts.back().model, {o.fold_batchnorm, o.channels_last});
  }

  data::IndexOptions iopt;
  iopt.on_bad = o.skip_bad ? data::BadEntryPolicy::Skip : data::BadEntryPolicy::Fail;
  const data::Dataset ds = data::filter_body_parts(data::index_dataset(o.data_dir, iopt), o.tasks);
  std::vector<std::size_t> idx;
  if (o.split == "valid") {
    idx = ds.images_of(data::Split::Valid);
    if (idx.empty()) throw Error("--split valid: the data set has no valid split");
  } else if (o.split == "heldout") {
    const auto topt = train::options_from_json(ckpts[0].state.options_json);
    if (ckpts[0].state.options_json == "{}")
      throw Error("--split heldout: " + o.checkpoints[0] +
                  " records no training options (seed, val split) to rebuild the held-out patients from");
    idx = data::split_patients(ds, {topt.val_split, topt.seed, data::Split::Train}).val_images;
    if (idx.empty()) throw Error("--split heldout: no held-out images (was --val-split 0?)");
  } else {
    throw Error("--split: expected valid or heldout, got '" + o.split + "'");
  }
  const auto samples = data::make_samples(ds, idx);

  // One loader per input geometry; an ensemble may mix input sizes.
  std::map<std::tuple<int, std::array<float, 3>, std::array<float, 3>>,
           std::vector<std::shared_ptr<models::ClassifierImpl>>>
      groups;
  for (const auto& c : ckpts) groups[{c.spec.image_size, c.spec.mean, c.spec.std}].push_back(c.model);
  std::vector<double> probs(samples.size(), 0.0);
  InferenceOptions io;
  io.device = device;
  io.tta_flip = o.tta_flip;
  io.precision = precision.precision;
  for (const auto& [geom, models] : groups) {
    data::LoaderOptions lo;
    lo.batch_size = o.batch_size;
    lo.workers = threads.loader_workers;
    lo.channels_last = o.channels_last;
    lo.pin_memory = device.is_cuda();
    lo.transform = data::TransformOptions::evaluation(std::get<0>(geom));
    lo.transform.mean = std::get<1>(geom);
    lo.transform.std = std::get<2>(geom);
    // On a CPU: decode everything first with every core, then run the models with every
    // core (decoders and LibTorch's threads would otherwise compete for the cores).
    if (!device.is_cuda()) lo.cache = data::CacheMode::Memory;
    data::Loader loader(samples, lo);
    loader.fill_cache();
    const auto p = predict_probabilities(models, loader, io);
    for (std::size_t i = 0; i < p.size(); ++i)
      probs[i] += p[i] * static_cast<double>(models.size()) / static_cast<double>(ckpts.size());
  }

  std::vector<ImagePrediction> images;
  for (std::size_t i = 0; i < samples.size(); ++i)
    images.push_back({samples[i].study, samples[i].body_part, samples[i].label, probs[i]});
  const auto studies = aggregate_studies(images);

  double threshold = 0.5;
  if (o.threshold == "youden") {
    std::vector<int> l;
    std::vector<double> s;
    labels_and_scores(studies, l, s);
    threshold = youden_threshold(l, s);
  } else {
    try {
      std::size_t used = 0;
      threshold = std::stod(o.threshold, &used);
      if (used != o.threshold.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error("--threshold: expected a number in (0, 1) or 'youden', got '" + o.threshold + "'");
    }
    if (!(threshold > 0 && threshold < 1))
      throw Error("--threshold: expected a number in (0, 1), got '" + o.threshold + "'");
  }

  const auto image_m = metrics_of(images, threshold);
  const auto study_m = metrics_of(studies, threshold);
  BootstrapResult ci;
  const bool with_ci = o.bootstrap > 0;
  if (with_ci) {
    std::vector<int> l;
    std::vector<double> s;
    labels_and_scores(studies, l, s);
    ci = bootstrap_ci(l, s, threshold, {o.bootstrap, o.seed, 0.95});
  }
  const auto image_parts = per_body_part(images, threshold);
  const auto study_parts = per_body_part(studies, threshold);

  const fs::path out = o.output_dir.empty() ? fs::path(o.checkpoints[0]).parent_path() : fs::path(o.output_dir);
  json j;
  j["format_version"] = 1;
  j["mura_version"] = MURA_VERSION;
  {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    j["created"] = buf;
  }
  j["checkpoints"] = o.checkpoints;
  j["architectures"] = json::array();
  for (const auto& c : ckpts) j["architectures"].push_back(c.spec.arch);
  j["data_dir"] = ds.root.string();
  j["split"] = o.split;
  j["tasks"] = o.tasks;
  j["threshold"] = threshold;
  j["threshold_rule"] = o.threshold == "youden" ? "youden (chosen on these studies)" : "fixed";
  j["tta"] = o.tta_flip ? "flip" : "none";
  j["inference"] = {{"precision", precision_name(precision.precision)},
                    {"channels_last", o.channels_last},
                    {"batchnorm_folded", o.fold_batchnorm}};
  j["image"] = metrics_json(image_m);
  j["study"] = metrics_json(study_m);
  for (const auto& [part, m] : image_parts) j["per_body_part"]["image"][part] = metrics_json(m);
  for (const auto& [part, m] : study_parts) j["per_body_part"]["study"][part] = metrics_json(m);
  if (with_ci) {
    j["bootstrap"] = {{"resamples", o.bootstrap},
                      {"seed", o.seed},
                      {"method", "percentile, numpy linear quantiles"},
                      {"study_auroc", interval_json(ci.auroc)},
                      {"study_kappa", interval_json(ci.kappa)},
                      {"study_sensitivity", interval_json(ci.sensitivity)},
                      {"study_specificity", interval_json(ci.specificity)}};
  }
  j["calibration"] = {{"method", "10 equal-width bins (sklearn calibration_curve, strategy uniform); "
                                 "ECE = sum of bin share * |observed rate - mean probability|"},
                      {"image", calibration_json(calibration_of(images))},
                      {"study", calibration_json(calibration_of(studies))}};

  std::ostringstream img_csv, study_csv;
  img_csv << "path,body_part,study,label,probability\n";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    char p[32];
    std::snprintf(p, sizeof p, "%.9g", probs[i]);
    img_csv << csv_escape(ds.images[idx[i]].mura_path) << "," << samples[i].body_part << ","
            << csv_escape(samples[i].study) << "," << samples[i].label << "," << p << "\n";
  }
  for (const auto& s : studies) study_csv << csv_escape(s.study) << "," << (s.probability >= threshold ? 1 : 0) << "\n";
  write_file_atomic(out / "metrics.json", j.dump(2) + "\n");
  write_file_atomic(out / "predictions_images.csv", img_csv.str());
  write_file_atomic(out / "predictions_studies.csv", study_csv.str());

  std::ostringstream rep;
  rep << "mura evaluate: " << o.checkpoints.size() << " checkpoint(s) on " << ds.root.string() << " ("
      << o.split << ")" << (o.tta_flip ? ", flip TTA" : "") << "\n\n";
  rep << level_text("study level (mean of the images' probabilities)", study_m, with_ci ? &ci : nullptr);
  rep << level_text("image level", image_m, nullptr);
  rep << "== per body part, study level\n" << parts_text(study_parts) << "\n";
  rep << "== per body part, image level\n" << parts_text(image_parts) << "\n";
  rep << "wrote " << (out / "metrics.json").string() << ", predictions_images.csv, predictions_studies.csv\n";

  EvaluateResult r;
  r.report = rep.str();
  r.metrics_json = j.dump(2);
  r.output_dir = out.string();
  r.study_auroc = study_m.auroc.value;
  r.image_auroc = image_m.auroc.value;
  return r;
}

}  // namespace mura::eval
