#include "mura/eval/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mura/eval/aggregate.h"
#include "mura/eval/bootstrap.h"
#include "mura/eval/calibration.h"
#include "mura/util/clock.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"
#include "mura/util/versions.h"

namespace mura::eval {
using nlohmann::json;

namespace {

json num(double v) {
  return std::isnan(v) ? json(nullptr) : json(v);
}

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
  return {
      {"n", m.n},
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
  return {{"point", num(b.point.value)}, {"lower", num(b.lower)},
          {"upper", num(b.upper)},       {"confidence", b.confidence},
          {"resamples_used", b.n_used},  {"resamples_skipped", b.n_skipped}};
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

/// Mean binary cross-entropy of probabilities (natural log, each clipped to [1e-15, 1 - 1e-15]
/// as scikit-learn's log_loss with eps=1e-15).
template <class Item>
double log_loss_of(const std::vector<Item>& items) {
  double sum = 0;
  for (const auto& it : items) {
    const double p = std::clamp(it.probability, 1e-15, 1 - 1e-15);
    sum -= it.label ? std::log(p) : std::log1p(-p);
  }
  return items.empty() ? std::numeric_limits<double>::quiet_NaN()
                       : sum / static_cast<double>(items.size());
}

std::string level_text(const std::string& title, const BinaryMetrics& m,
                       const BootstrapResult* ci) {
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
    o << "  sensitivity   " << m.sensitivity.format() << "   specificity " << m.specificity.format()
      << "\n";
  }
  o << "  confusion matrix [[TN FP] [FN TP]] = [[" << m.confusion.tn << " " << m.confusion.fp
    << "] [" << m.confusion.fn << " " << m.confusion.tp << "]]\n\n";
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

const NameTable<std::string>& evaluation_split_names() {
  static const NameTable<std::string> table(
      "--split", {{"valid", "valid", {"val", "validation"}}, {"heldout", "heldout", {"held-out"}}});
  return table;
}

ThresholdRule parse_threshold_rule(const std::string& text) {
  ThresholdRule r;
  const std::string t = to_lower(std::string(trim(text)));
  const std::string expected =
      "--threshold: expected a number in (0, 1), youden, sensitivity:X or specificity:X "
      "(X in (0, 1]), got '" +
      text + "'";
  auto number = [&](const std::string& s) {
    try {
      std::size_t used = 0;
      const double v = std::stod(s, &used);
      if (used != s.size()) throw std::invalid_argument("trailing");
      return v;
    } catch (const std::exception&) {
      throw Error(expected);
    }
  };
  if (t == "youden") {
    r.kind = ThresholdRule::Kind::Youden;
    return r;
  }
  for (const auto& [prefix, kind] : {std::pair<std::string, ThresholdRule::Kind>{
                                         "sensitivity:", ThresholdRule::Kind::Sensitivity},
                                     {"specificity:", ThresholdRule::Kind::Specificity}}) {
    if (!starts_with(t, prefix)) continue;
    r.kind = kind;
    r.target = number(t.substr(prefix.size()));
    if (!(r.target > 0 && r.target <= 1))
      throw Error("--threshold " + text + ": the target must be in (0, 1]");
    return r;
  }
  const double v = number(t);
  if (!(v > 0 && v < 1))
    throw Error("--threshold: expected a number in (0, 1), got '" + text + "'");
  r.value = v;
  return r;
}

std::string ThresholdRule::describe() const {
  char buf[64];
  switch (kind) {
    case Kind::Youden:
      return "youden";
    case Kind::Sensitivity:
      std::snprintf(buf, sizeof buf, "sensitivity:%g", target);
      return buf;
    case Kind::Specificity:
      std::snprintf(buf, sizeof buf, "specificity:%g", target);
      return buf;
    case Kind::Value:
      break;
  }
  return "fixed";
}

double ThresholdRule::choose(const std::vector<int>& labels,
                             const std::vector<double>& scores) const {
  switch (kind) {
    case Kind::Youden:
      return youden_threshold(labels, scores);
    case Kind::Sensitivity:
      return point_for_sensitivity(labels, scores, target).threshold;
    case Kind::Specificity:
      return point_for_specificity(labels, scores, target).threshold;
    case Kind::Value:
      break;
  }
  return value;
}

Summary summarize(const std::vector<EvaluatedImage>& evaluated, const RunIdentity& run,
                  const SummaryOptions& o) {
  std::vector<ImagePrediction> images;
  for (const auto& e : evaluated) images.push_back({e.study, e.body_part, e.label, e.probability});
  const auto studies = aggregate_studies(images);

  double threshold = o.threshold.value;
  if (o.threshold.kind != ThresholdRule::Kind::Value) {
    std::vector<int> l;
    std::vector<double> sc;
    labels_and_scores(studies, l, sc);
    try {
      threshold = o.threshold.choose(l, sc);
    } catch (const Error& e) {
      throw Error("--threshold " + o.threshold.describe() + ": " + e.what());
    }
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

  json j;
  j["format_version"] = versions::kMetrics;
  j["mura_version"] = MURA_VERSION;
  j["created"] = utc_timestamp();
  j["checkpoints"] = run.checkpoints;
  j["architectures"] = run.architectures;
  j["data_dir"] = run.data_dir;
  j["split"] = run.split;
  j["tasks"] = run.tasks;
  j["threshold"] = threshold;
  j["threshold_rule"] = o.threshold.kind != ThresholdRule::Kind::Value
                            ? o.threshold.describe() + " (chosen on these studies)"
                        : o.threshold_origin.empty() ? std::string("fixed")
                                                     : o.threshold_origin;
  j["tta"] = run.tta_flip ? "flip" : "none";
  j["inference"] = {{"precision", run.precision},
                    {"channels_last", run.channels_last},
                    {"batchnorm_folded", run.fold_batchnorm}};
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
  j["calibration"] = {{"method",
                       "10 equal-width bins (sklearn calibration_curve, strategy uniform); "
                       "ECE = sum of bin share * |observed rate - mean probability|; NLL = mean "
                       "binary cross-entropy (probabilities clipped to [1e-15, 1 - 1e-15])"},
                      {"image", calibration_json(calibration_of(images))},
                      {"study", calibration_json(calibration_of(studies))},
                      {"nll", {{"image", log_loss_of(images)}, {"study", log_loss_of(studies)}}},
                      {"temperatures", run.temperatures}};
  // Temperature-scaled models: the same at temperature 1 (what the models said before).
  const bool scaled = !evaluated.empty() && !std::isnan(evaluated[0].uncalibrated);
  std::string calibration_line;
  if (scaled) {
    std::vector<ImagePrediction> raw;
    for (const auto& e : evaluated) raw.push_back({e.study, e.body_part, e.label, e.uncalibrated});
    const auto raw_studies = aggregate_studies(raw);
    const Calibration before_img = calibration_of(raw), before_study = calibration_of(raw_studies);
    j["calibration"]["before_temperature_scaling"] = {
        {"image", calibration_json(before_img)},
        {"study", calibration_json(before_study)},
        {"nll", {{"image", log_loss_of(raw)}, {"study", log_loss_of(raw_studies)}}}};
    std::ostringstream c;
    c << std::fixed << std::setprecision(4) << "== calibration (temperature scaling, T =";
    for (double t : run.temperatures) c << " " << t;
    c << ")\n  study ECE " << before_study.ece << " -> "
      << j["calibration"]["study"]["ece"].get<double>() << ", image ECE " << before_img.ece
      << " -> " << j["calibration"]["image"]["ece"].get<double>() << "\n  image NLL "
      << log_loss_of(raw) << " -> " << log_loss_of(images) << "\n\n";
    calibration_line = c.str();
  }

  Summary out;
  std::ostringstream img_csv, study_csv;
  img_csv << "path,body_part,study,label,probability\n";
  for (const auto& e : evaluated) {
    char p[32];
    std::snprintf(p, sizeof p, "%.9g", e.probability);
    img_csv << csv_escape(e.path) << "," << e.body_part << "," << csv_escape(e.study) << ","
            << e.label << "," << p << "\n";
  }
  for (const auto& s : studies)
    study_csv << csv_escape(s.study) << "," << (s.probability >= threshold ? 1 : 0) << "\n";
  out.images_csv = img_csv.str();
  out.studies_csv = study_csv.str();

  std::ostringstream rep;
  rep << "mura evaluate: " << run.checkpoints.size() << " checkpoint(s) on " << run.data_dir << " ("
      << run.split << ")" << (run.tta_flip ? ", flip TTA" : "") << "\n\n";
  rep << level_text("study level (mean of the images' probabilities)", study_m,
                    with_ci ? &ci : nullptr);
  rep << level_text("image level", image_m, nullptr);
  rep << "== per body part, study level\n" << parts_text(study_parts) << "\n";
  rep << "== per body part, image level\n" << parts_text(image_parts) << "\n";
  rep << calibration_line;
  out.report = rep.str();
  out.metrics_json = j.dump(2);
  out.threshold = threshold;
  out.study_auroc = study_m.auroc.value;
  out.image_auroc = image_m.auroc.value;
  return out;
}

}  // namespace mura::eval
