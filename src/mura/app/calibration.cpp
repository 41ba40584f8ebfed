#include "mura/app/calibration.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "mura/app/common.h"
#include "mura/data/loader.h"
#include "mura/eval/aggregate.h"
#include "mura/eval/bootstrap.h"
#include "mura/eval/calibration.h"
#include "mura/eval/summary.h"
#include "mura/eval/temperature.h"
#include "mura/models/inference.h"
#include "mura/util/atomic_file.h"
#include "mura/util/clock.h"
#include "mura/util/error.h"

namespace mura::app {
namespace fs = std::filesystem;

namespace {

std::string fixed(double v, int digits = 4) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

/// The rule `calibrate` applies: the one asked for; else the checkpoint's own (chosen on
/// data before: chosen again on these probabilities, which scaling changed); else its
/// threshold as it is.
eval::ThresholdRule rule_for(const std::string& asked, const weights::ModelSpec& spec) {
  if (!asked.empty()) return eval::parse_threshold_rule(asked);
  const std::string& had = spec.calibration.threshold_rule;
  if (!had.empty() && had.rfind("fixed", 0) != 0) return eval::parse_threshold_rule(had);
  eval::ThresholdRule keep;
  keep.value = spec.threshold;
  return keep;
}

CalibrateResult calibrate_composed(const CalibrateOptions& o, Sink& sink) {
  MURA_CHECK(!o.checkpoint.empty(), "--checkpoint: give the checkpoint to calibrate");
  const std::string split = eval::evaluation_split_names().canonical(o.split);
  RuntimeOptions ro = o.runtime;
  ro.group = nullptr;  // one process (train --calibrate runs it on rank 0 only)
  const Runtime rt = resolve_runtime(ro);
  weights::Checkpoint ckpt = weights::load_checkpoint(o.checkpoint, rt.device);
  const eval::ThresholdRule rule = rule_for(o.threshold, ckpt.spec);
  fs::path out = o.output;
  if (out.empty()) {
    const fs::path in(o.checkpoint);
    out = in.parent_path() / (in.stem().string() + ".calibrated.ckpt");
  }
  ensure_writable_dir(out.parent_path().empty() ? fs::path(".") : out.parent_path(),
                      o.output.empty() ? "--checkpoint's folder" : "--output");

  data::DicomTreeOptions dicom = o.dicom;
  dicom.split = split == "valid" ? data::Split::Valid : data::Split::Train;
  const data::Dataset ds = open_dataset(o.data_dir, o.tasks, o.skip_bad, sink, dicom);
  const auto idx = evaluation_images(ds, split, ckpt, o.checkpoint);
  const auto samples = data::make_samples(ds, idx);

  data::LoaderOptions lo = inference_loader_options(ckpt.spec, o.batch_size, o.dicom_window, rt);
  lo.channels_last = false;  // the model is not converted (it is written back as it was)
  data::Loader loader(samples, lo);
  loader.fill_cache();
  models::InferenceOptions io;
  io.device = rt.device;
  io.precision = rt.precision.precision;
  sink.info("scoring " + std::to_string(samples.size()) + " images of " + ds.root.string() + " (" +
            split + ")");
  const std::vector<double> d = models::predict_abnormal_logits(*ckpt.model, loader, io);

  std::vector<int> labels;
  for (const auto& s : samples) labels.push_back(s.label);
  const double t_before = ckpt.spec.temperature;
  weights::ModelSpec spec = ckpt.spec;
  weights::CalibrationRecord& rec = spec.calibration;
  rec = {};
  rec.created = utc_timestamp();
  rec.data = ds.root.string() + ", " + split + " split";
  rec.images = samples.size();
  if (o.fit_temperature) {
    const eval::TemperatureFit fit = eval::fit_temperature(d, labels, t_before);
    spec.temperature = fit.temperature;
    rec.temperature_fitted = true;
    rec.nll_before = fit.nll_before;
    rec.nll_after = fit.nll_after;
    if (fit.at_bound)
      sink.warn("the fitted temperature lies at the search bound (" + fixed(fit.temperature) +
                "): the logits of these images separate the classes (too few or too easy "
                "images to calibrate on?)");
  }
  const std::vector<double> p_before = eval::scaled_probabilities(d, t_before);
  const std::vector<double> p_after = eval::scaled_probabilities(d, spec.temperature);
  if (rec.temperature_fitted) {
    rec.ece_before = eval::calibration(labels, p_before).ece;
    rec.ece_after = eval::calibration(labels, p_after).ece;
  }

  // The operating point, on study probabilities (mean of the images', after scaling).
  std::vector<eval::ImagePrediction> images;
  for (std::size_t i = 0; i < samples.size(); ++i)
    images.push_back({samples[i].study, samples[i].body_part, samples[i].label, p_after[i]});
  const auto studies = eval::aggregate_studies(images);
  std::vector<int> sl;
  std::vector<double> sp;
  for (const auto& s : studies) {
    sl.push_back(s.label);
    sp.push_back(s.probability);
  }
  rec.studies = studies.size();
  for (int l : sl) rec.abnormal_studies += l == 1;
  try {
    spec.threshold = rule.choose(sl, sp);
  } catch (const Error& e) {
    throw Error("--threshold " + rule.describe() + ": " + e.what());
  }
  rec.threshold_rule = rule.kind == eval::ThresholdRule::Kind::Value
                           ? "fixed " + fixed(spec.threshold)
                           : rule.describe();
  const auto m = eval::compute_binary_metrics(sl, sp, spec.threshold);
  rec.sensitivity = m.sensitivity.value;
  rec.specificity = m.specificity.value;
  if (o.bootstrap > 0) {
    const auto ci = eval::bootstrap_ci(sl, sp, spec.threshold, {o.bootstrap, o.seed, 0.95});
    rec.bootstrap = o.bootstrap;
    rec.sensitivity_lower = ci.sensitivity.lower;
    rec.sensitivity_upper = ci.sensitivity.upper;
    rec.specificity_lower = ci.specificity.lower;
    rec.specificity_upper = ci.specificity.upper;
  }

  weights::save_checkpoint_with_spec(out, ckpt, spec);

  std::ostringstream r;
  r << "mura calibrate: " << o.checkpoint << " on " << rec.data << " (" << rec.images << " images, "
    << rec.studies << " studies, " << rec.abnormal_studies << " abnormal)\n";
  if (rec.temperature_fitted)
    r << "  temperature   " << fixed(t_before) << " -> " << fixed(spec.temperature)
      << "\n  image NLL     " << fixed(rec.nll_before) << " -> " << fixed(rec.nll_after)
      << "\n  image ECE     " << fixed(rec.ece_before) << " -> " << fixed(rec.ece_after) << "\n";
  else
    r << "  temperature   " << fixed(spec.temperature) << " (kept)\n";
  r << "  threshold     " << weights::describe_threshold(spec) << "\n";
  r << "wrote " << out.string() << "\n";
  CalibrateResult res;
  res.report = r.str();
  res.output = out.string();
  res.spec = spec;
  return res;
}

}  // namespace

CalibrateResult run_calibration(const CalibrateOptions& options, Sink& sink) {
  return at_boundary("calibrating " + options.checkpoint,
                     [&] { return calibrate_composed(options, sink); });
}

}  // namespace mura::app
