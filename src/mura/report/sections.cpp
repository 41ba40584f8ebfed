#include "mura/report/sections.h"

#include <cmath>
#include <map>
#include <sstream>

#include "mura/eval/aggregate.h"
#include "mura/eval/calibration.h"
#include "mura/eval/metrics.h"
#include "mura/report/html.h"
#include "mura/report/svg.h"
#include "mura/util/error.h"

namespace mura::report {
using nlohmann::json;

namespace {

const char* kBlue = "#1f77b4";
const char* kOrange = "#ff7f0e";
const char* kRed = "#d62728";

}  // namespace

// ---------------------------------------------------------------- numbers from metrics.json

const json* find(const json& root, const std::string& pointer) {
  const json::json_pointer p(pointer);
  return root.contains(p) ? &root.at(p) : nullptr;
}

static bool has(const json& root, const std::string& pointer) {
  return find(root, pointer) != nullptr;
}

double number_at(const json& root, const std::string& pointer) {
  const json* v = find(root, pointer);
  return v && v->is_number() ? v->get<double>() : std::nan("");
}

/// An element showing the number at `pointer` in metrics.json, tagged so it can be checked
/// against the file: data-metric (the pointer), data-value (exact), data-digits.
std::string metric(const json& root, const std::string& pointer, int digits) {
  const json* v = find(root, pointer);
  if (!v) throw Error("metrics.json: missing " + pointer);
  std::string text, value;
  if (v->is_null()) {
    text = "n/a";
    value = "null";
  } else if (v->is_number_integer() || v->is_number_unsigned()) {
    text = value = v->dump();
  } else if (v->is_number_float()) {
    text = fixed(v->get<double>(), digits);
    value = exact(v->get<double>());
  } else {
    throw Error("metrics.json: " + pointer + " is not a number (" + v->dump() + ")");
  }
  std::string title;
  const auto slash = pointer.rfind('/');
  if (v->is_null() && slash != std::string::npos) {
    const json* reason = find(root, pointer.substr(0, slash) + "/undefined_reason");
    if (reason && reason->is_string())
      title = " title=\"" + html_escape(reason->get<std::string>()) + "\"";
  }
  return "<span class=\"num\" data-metric=\"" + html_escape(pointer) + "\" data-value=\"" + value +
         "\" data-digits=\"" + std::to_string(digits) + "\"" + title + ">" + text + "</span>";
}

/// "95% CI <lower>–<upper>" from /bootstrap/<key>, or a note that there is none.
static std::string interval(const json& m, const std::string& key) {
  const std::string base = "/bootstrap/" + key;
  if (!has(m, base + "/lower"))
    return "<span class=\"ci\">no bootstrap interval in metrics.json</span>";
  if (find(m, base + "/lower")->is_null())
    return "<span class=\"ci\">95% CI n/a (" + metric(m, base + "/resamples_used") +
           " resamples usable)</span>";
  const double conf = number_at(m, base + "/confidence");
  char pct[16];
  std::snprintf(pct, sizeof pct, "%g%%", std::isfinite(conf) ? conf * 100 : 95.0);
  return std::string("<span class=\"ci\">") + pct + " CI " + metric(m, base + "/lower") +
         " &ndash; " + metric(m, base + "/upper") + "</span>";
}

std::string text_at(const json& m, const std::string& pointer) {
  const json* v = find(m, pointer);
  if (!v || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_array()) {
    std::string out;
    for (const auto& e : *v)
      out += (out.empty() ? "" : ", ") + (e.is_string() ? e.get<std::string>() : e.dump());
    return out;
  }
  return v->dump();
}

std::string identity_section(const ReportContent& c) {
  const json& m = c.metrics;
  std::ostringstream s;
  s << "<section id=\"identity\"><h2>Run</h2><table class=\"kv\">";
  const auto row = [&](const std::string& k, const std::string& v_html) {
    s << "<tr><td>" << html_escape(k) << "</td><td>" << v_html << "</td></tr>";
  };
  std::string ckpts;
  if (const json* v = find(m, "/checkpoints"); v && v->is_array())
    for (const auto& e : *v)
      ckpts +=
          "<code>" + html_escape(e.is_string() ? e.get<std::string>() : e.dump()) + "</code><br>";
  row("checkpoint(s)", ckpts.empty() ? "<span class=\"muted\">not recorded</span>" : ckpts);
  row("architecture", html_escape(text_at(m, "/architectures")));
  row("data set", "<code>" + html_escape(text_at(m, "/data_dir")) + "</code>");
  std::string split = html_escape(text_at(m, "/split"));
  if (const std::string tasks = text_at(m, "/tasks"); !tasks.empty())
    split += " (body parts: " + html_escape(tasks) + ")";
  row("split", split);
  row("images / studies", metric(m, "/image/n") + " images, " + metric(m, "/study/n") +
                              " studies (" + metric(m, "/study/n_abnormal") + " abnormal, " +
                              metric(m, "/study/n_normal") + " normal)");
  row("decision threshold", metric(m, "/threshold") + " <span class=\"muted\">" +
                                html_escape(text_at(m, "/threshold_rule")) + "</span>");
  if (has(m, "/tta")) row("test-time augmentation", html_escape(text_at(m, "/tta")));
  if (has(m, "/bootstrap/resamples"))
    row("bootstrap", metric(m, "/bootstrap/resamples") + " resamples, seed " +
                         metric(m, "/bootstrap/seed") + ", " +
                         html_escape(text_at(m, "/bootstrap/method")));
  for (const auto& [k, v] : c.identity) row(k, html_escape(v));
  row("evaluated", html_escape(text_at(m, "/created")));
  row("mura version",
      html_escape(text_at(m, "/mura_version")) + " (evaluation), " MURA_VERSION " (report)");
  row("report generated", html_escape(c.generated));
  row("source", "<code>" + html_escape(c.eval_dir) + "</code>");
  s << "</table></section>";
  return s.str();
}

std::string headline_section(const json& m) {
  std::ostringstream s;
  s << "<section id=\"headline\"><h2>Study level</h2>"
    << "<p class=\"sub\">A study's probability is the mean of its images' (as in the MURA paper); "
    << "predictions at threshold " << metric(m, "/study/threshold")
    << ". Intervals: 95% percentile bootstrap over studies.</p>"
    << "<div class=\"cards\">";
  const auto card = [&](const std::string& label, const std::string& pointer,
                        const std::string& ci_key) {
    s << "<div class=\"card\"><div class=\"label\">" << label << "</div><div class=\"big\">"
      << metric(m, pointer) << "</div>" << interval(m, ci_key) << "</div>";
  };
  card("AUROC", "/study/auroc/value", "study_auroc");
  card("Cohen's kappa", "/study/kappa/value", "study_kappa");
  card("Sensitivity", "/study/sensitivity/value", "study_sensitivity");
  card("Specificity", "/study/specificity/value", "study_specificity");
  // The secondary numbers share one card, so the row fits a laptop screen.
  s << "<div class=\"card small\"><table class=\"kv\"><tr><td>accuracy</td><td>"
    << metric(m, "/study/accuracy") << "</td></tr><tr><td>average precision</td><td>"
    << metric(m, "/study/average_precision/value") << "</td></tr>";
  if (has(m, "/calibration/study/ece"))
    s << "<tr><td>ECE</td><td>" << metric(m, "/calibration/study/ece") << "</td></tr>";
  s << "</table></div></div></section>";
  return s.str();
}

/// Bins of one level: metrics.json's when it has them, else computed from the predictions.
/// `prefix`: "/calibration/" (or "/calibration/before_temperature_scaling/").
static std::vector<eval::CalibrationBin> calibration_bins(
    const json& m, const std::string& level, const std::vector<int>& labels,
    const std::vector<double>& scores, bool& from_file,
    const std::string& prefix = "/calibration/") {
  const json* bins = find(m, prefix + level + "/bins");
  from_file = bins && bins->is_array();
  if (!from_file) return eval::calibration(labels, scores, 10).bins;
  std::vector<eval::CalibrationBin> out;
  for (const auto& b : *bins) {
    eval::CalibrationBin bin;
    bin.lower = b.at("lower").get<double>();
    bin.upper = b.at("upper").get<double>();
    bin.count = b.at("count").get<std::size_t>();
    if (b.at("mean_probability").is_number())
      bin.mean_probability = b.at("mean_probability").get<double>();
    if (b.at("observed_rate").is_number()) bin.observed_rate = b.at("observed_rate").get<double>();
    out.push_back(bin);
  }
  return out;
}

std::string curves_row(const json& m, const std::string& level, const std::string& title,
                       const std::vector<int>& labels, const std::vector<double>& scores) {
  const std::string L = "/" + level;
  std::ostringstream s;
  s << "<h3>" << title << "</h3><p class=\"sub\">AUROC " << metric(m, L + "/auroc/value")
    << " &middot; average precision " << metric(m, L + "/average_precision/value")
    << " &middot; accuracy " << metric(m, L + "/accuracy") << " &middot; kappa "
    << metric(m, L + "/kappa/value") << " &middot; sensitivity "
    << metric(m, L + "/sensitivity/value") << " &middot; specificity "
    << metric(m, L + "/specificity/value") << "</p><div class=\"row\">";
  const double auroc = number_at(m, L + "/auroc/value"),
               ap = number_at(m, L + "/average_precision/value");
  const double sens = number_at(m, L + "/sensitivity/value"),
               spec = number_at(m, L + "/specificity/value");
  const double prec = number_at(m, L + "/classification_report/abnormal/precision");
  const double thr = number_at(m, L + "/threshold");
  const std::string op = "threshold " + fixed(thr, 2);

  // ROC
  const auto roc = eval::roc_curve(labels, scores, true);
  ChartOptions ro;
  ro.id = "roc-" + level;
  ro.title = "ROC, " + level + " level";
  ro.x = {"false positive rate (1 - specificity)", 0, 1, false};
  ro.y = {"true positive rate (sensitivity)", 0, 1, false};
  ro.diagonal = true;
  Series rs{"AUROC " + fixed(auroc), roc.fpr, roc.tpr, kBlue};
  std::vector<Marker> rmark;
  if (std::isfinite(sens) && std::isfinite(spec)) rmark.push_back({1 - spec, sens, op, kRed});
  s << "<div>" << line_chart(ro, {rs}, rmark) << "</div>";

  // Precision-recall
  const auto pr = eval::precision_recall_curve(labels, scores);
  ChartOptions po;
  po.id = "pr-" + level;
  po.title = "Precision-recall, " + level + " level";
  po.x = {"recall (sensitivity)", 0, 1, false};
  po.y = {"precision", 0, 1, false};
  po.legend = LegendAt::BottomLeft;
  std::size_t pos = 0;
  for (const int l : labels) pos += static_cast<std::size_t>(l);
  const double prevalence = static_cast<double>(pos) / static_cast<double>(labels.size());
  Series ps{"AP " + fixed(ap), pr.recall, pr.precision, kBlue};
  ps.steps = true;
  Series base{"prevalence " + fixed(prevalence, 3), {0, 1}, {prevalence, prevalence}, "#999"};
  base.dashed = true;
  std::vector<Marker> pmark;
  if (std::isfinite(sens) && std::isfinite(prec)) pmark.push_back({sens, prec, op, kRed});
  s << "<div>" << line_chart(po, {ps, base}, pmark) << "</div>";

  // Reliability
  bool from_file = false;
  const auto bins = calibration_bins(m, level, labels, scores, from_file);
  ChartOptions co;
  co.id = "calibration-" + level;
  co.title = "Reliability, " + level + " level";
  co.x = {"mean predicted P(abnormal) per bin", 0, 1, false};
  co.y = {"observed share abnormal", 0, 1, false};
  s << "<div>" << reliability_chart(co, bins)
    << "<div class=\"muted\">expected calibration error (ECE): ";
  if (from_file)
    s << metric(m, "/calibration/" + level + "/ece");
  else
    s << fixed(eval::calibration(labels, scores, 10).ece)
      << " (computed from the predictions; metrics.json has none)";
  s << "</div></div>";
  // A temperature-scaled model: the same diagram at temperature 1, what the model said before.
  const std::string before = "/calibration/before_temperature_scaling/";
  if (has(m, before + level + "/bins")) {
    bool unused = false;
    const auto raw = calibration_bins(m, level, labels, scores, unused, before);
    co.id = "calibration-before-" + level;
    co.title = "Reliability before temperature scaling, " + level + " level";
    s << "<div>" << reliability_chart(co, raw)
      << "<div class=\"muted\">ECE before scaling: " << metric(m, before + level + "/ece")
      << " (temperature " << html_escape(text_at(m, "/calibration/temperatures")) << "; NLL "
      << metric(m, before + "nll/image") << " &rarr; " << metric(m, "/calibration/nll/image")
      << ", image level)</div></div>";
  }
  s << "</div>";
  return s.str();
}

static std::string confusion_table(const json& m, const std::string& level) {
  const std::string p = "/" + level + "/confusion_matrix/";
  std::ostringstream s;
  s << "<table class=\"cm\" id=\"confusion-" << level
    << "\"><tr><th></th><th>predicted normal</th><th>predicted abnormal</th></tr>"
    << "<tr><th>true normal</th><td class=\"diag\">" << metric(m, p + "0/0")
    << "</td><td class=\"off\">" << metric(m, p + "0/1")
    << "</td></tr><tr><th>true abnormal</th><td class=\"off\">" << metric(m, p + "1/0")
    << "</td><td class=\"diag\">" << metric(m, p + "1/1") << "</td></tr></table>";
  return s.str();
}

static std::string classification_table(const json& m, const std::string& level) {
  const std::string p = "/" + level + "/classification_report/";
  std::ostringstream s;
  s << "<table id=\"classification-" << level
    << "\"><tr><th></th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>";
  for (const char* row : {"normal", "abnormal"}) {
    const std::string r = p + json_pointer_token(row) + "/";
    s << "<tr><td>" << row << "</td><td>" << metric(m, r + "precision") << "</td><td>"
      << metric(m, r + "recall") << "</td><td>" << metric(m, r + "f1-score") << "</td><td>"
      << metric(m, r + "support") << "</td></tr>";
  }
  s << "<tr><td>accuracy</td><td></td><td></td><td>" << metric(m, p + "accuracy") << "</td><td>"
    << metric(m, p + "macro avg/support") << "</td></tr>";
  for (const char* row : {"macro avg", "weighted avg"}) {
    const std::string r = p + json_pointer_token(row) + "/";
    s << "<tr><td>" << row << "</td><td>" << metric(m, r + "precision") << "</td><td>"
      << metric(m, r + "recall") << "</td><td>" << metric(m, r + "f1-score") << "</td><td>"
      << metric(m, r + "support") << "</td></tr>";
  }
  s << "</table>";
  return s.str();
}

std::string confusion_section(const json& m) {
  std::ostringstream s;
  s << "<section id=\"confusion\"><h2>Confusion matrices and classification reports</h2><div "
       "class=\"row\">";
  for (const char* level : {"study", "image"}) {
    s << "<div><h3>" << (std::string(level) == "study" ? "Study level" : "Image level")
      << " (threshold " << metric(m, "/" + std::string(level) + "/threshold") << ")</h3>"
      << confusion_table(m, level) << "<div style=\"height:10px\"></div>"
      << classification_table(m, level) << "</div>";
  }
  s << "</div></section>";
  return s.str();
}

static std::string parts_table(const json& m, const std::string& level) {
  const json* parts = find(m, "/per_body_part/" + level);
  if (!parts || !parts->is_object() || parts->empty())
    return "<p class=\"muted\">no body parts in metrics.json</p>";
  std::ostringstream s;
  s << "<table id=\"parts-" << level
    << "\"><tr><th>body part</th><th>n</th><th>abnormal</th><th>accuracy</th><th>AUROC</th>"
    << "<th>kappa</th><th>sensitivity</th><th>specificity</th></tr>";
  for (const auto& [part, _] : parts->items()) {
    const std::string p = "/per_body_part/" + level + "/" + json_pointer_token(part) + "/";
    s << "<tr><td>" << html_escape(part) << "</td><td>" << metric(m, p + "n") << "</td><td>"
      << metric(m, p + "n_abnormal") << "</td><td>" << metric(m, p + "accuracy") << "</td><td>"
      << metric(m, p + "auroc/value") << "</td><td>" << metric(m, p + "kappa/value") << "</td><td>"
      << metric(m, p + "sensitivity/value") << "</td><td>" << metric(m, p + "specificity/value")
      << "</td></tr>";
  }
  s << "</table>";
  return s.str();
}

std::string parts_section(const json& m) {
  return "<section id=\"parts\"><h2>Per body part</h2><p class=\"sub\">n/a: undefined for this "
         "part (hover for the "
         "reason), e.g. AUROC when only one class occurs.</p><div class=\"row\"><div><h3>Study "
         "level</h3>" +
         parts_table(m, "study") + "</div><div><h3>Image level</h3>" + parts_table(m, "image") +
         "</div></div></section>";
}

static bool any_finite(const std::vector<double>& v) {
  for (const double x : v)
    if (std::isfinite(x)) return true;
  return false;
}

std::string training_section(const ReportContent& c) {
  std::ostringstream s;
  s << "<section id=\"training\"><h2>Training</h2>";
  if (!c.training || c.training->rows == 0) {
    s << "<p class=\"muted\">No training curves: " << html_escape(c.training_source)
      << "</p></section>";
    return s.str();
  }
  const TrainingLog& log = *c.training;
  const auto& epoch = log.values.at("epoch");
  s << "<p class=\"sub\">From <code>" << html_escape(c.training_source) << "</code> (" << log.rows
    << " row(s), one per epoch).</p><div class=\"row\">";
  const auto col = [&](const std::string& name) {
    return log.has(name) ? log.values.at(name) : std::vector<double>(log.rows, std::nan(""));
  };
  const auto chart = [&](const std::string& id, const std::string& title, const std::string& ylabel,
                         std::vector<Series> series, bool log_y,
                         const std::vector<Marker>& markers) {
    std::vector<Series> kept;
    for (auto& se : series)
      if (any_finite(se.y)) {
        se.points = true;
        kept.push_back(std::move(se));
      }
    if (kept.empty()) return;
    ChartOptions o;
    o.id = id;
    o.title = title;
    o.x = {"epoch"};
    o.y = {ylabel};
    o.y.log = log_y;
    o.legend = LegendAt::TopRight;
    s << "<div>" << line_chart(o, kept, markers) << "</div>";
  };
  // The epoch of best.ckpt: the last row `mura train` marked best.
  std::vector<Marker> best;
  const auto best_col = col("best"), study_auc = col("val_study_auc");
  for (std::size_t i = log.rows; i-- > 0;)
    if (best_col[i] == 1.0 && std::isfinite(study_auc[i])) {
      best.push_back({epoch[i], study_auc[i], "best", kRed});
      break;
    }
  chart(
      "train-loss", "Loss", "loss",
      {{"train", epoch, col("train_loss"), kBlue}, {"validation", epoch, col("val_loss"), kOrange}},
      false, {});
  chart("train-auroc", "Validation AUROC", "AUROC",
        {{"study", epoch, study_auc, kBlue}, {"image", epoch, col("val_image_auc"), kOrange}},
        false, best);
  const auto lr = col("lr");
  bool positive = any_finite(lr);
  for (const double v : lr) positive &= !std::isfinite(v) || v > 0;
  chart("train-lr", "Learning rate", "learning rate", {{"lr", epoch, lr, kBlue}}, positive, {});
  s << "</div></section>";
  return s.str();
}

std::string gallery_section(const ReportContent& c, const std::vector<ImageRow>& rows,
                            double threshold) {
  std::ostringstream s;
  s << "<section id=\"gallery\"><h2>Gallery</h2>";
  if (!c.gallery_requested) {
    s << "<p class=\"muted\">No gallery (--gallery 0).</p></section>";
    return s.str();
  }
  s << "<p class=\"sub\">Image level at threshold " << fixed(threshold, 4)
    << ": the most confident mistakes and a few hits, with the Grad-CAM heatmap of the abnormal "
       "logit "
       "blended on the image. P(abnormal) as the evaluation computed it.</p>";
  std::map<CaseKind, std::size_t> available;
  for (const auto& r : rows) {
    const bool called = r.probability >= threshold;
    if (r.label == 0 && called) ++available[CaseKind::FalsePositive];
    if (r.label == 1 && !called) ++available[CaseKind::FalseNegative];
    if (r.label == 1 && called) ++available[CaseKind::TruePositive];
  }
  const std::pair<CaseKind, const char*> kinds[] = {{CaseKind::FalsePositive, "fp"},
                                                    {CaseKind::FalseNegative, "fn"},
                                                    {CaseKind::TruePositive, "tp"}};
  for (const auto& [kind, tag] : kinds) {
    std::vector<const GalleryCase*> shown;
    for (const auto& g : c.gallery)
      if (g.kind == kind) shown.push_back(&g);
    std::string heading = kind == CaseKind::FalsePositive
                              ? "Most confident false positives (normal, called abnormal)"
                          : kind == CaseKind::FalseNegative
                              ? "Most confident false negatives (abnormal, called normal)"
                              : "True positives (abnormal, called abnormal)";
    s << "<h3>" << heading << " <span class=\"muted\">" << shown.size() << " of " << available[kind]
      << "</span></h3><div class=\"gallery\" id=\"gallery-" << tag << "\">";
    if (shown.empty()) s << "<p class=\"muted\">none</p>";
    for (const GalleryCase* g : shown) {
      s << "<figure class=\"case kind-" << tag << "\">";
      if (g->problem.empty() && !g->jpeg.empty()) {
        s << "<img src=\"" << data_uri("image/jpeg", g->jpeg) << "\" width=\"" << g->width
          << "\" height=\"" << g->height << "\" alt=\"" << html_escape(case_kind_name(kind)) << ": "
          << html_escape(g->row.path) << "\">";
      } else {
        s << "<div class=\"missing\">no picture: "
          << html_escape(g->problem.empty() ? "not rendered" : g->problem) << "</div>";
      }
      s << "<figcaption>P(abnormal) <b>" << fixed(g->row.probability, 4) << "</b> &middot; label "
        << (g->row.label ? "abnormal" : "normal") << " &middot; " << html_escape(g->row.body_part)
        << "<br><code>" << html_escape(g->row.path) << "</code></figcaption></figure>";
    }
    s << "</div>";
  }
  s << "</section>";
  return s.str();
}

}  // namespace mura::report
