// The report page from hand-made content: every number is metrics.json's, paths are
// escaped, charts and sections are there, inconsistent inputs and bad files are errors.
#include "mura/report/report.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <set>

#include "../test_util.h"
#include "mura/app/report.h"
#include "mura/eval/aggregate.h"
#include "mura/eval/calibration.h"
#include "mura/report/html.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/rng.h"
#include "page_check.h"

namespace mura::report {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::count_of;

using test::contains;

json num(double v) {
  return std::isnan(v) ? json(nullptr) : json(v);
}

json score(const eval::Score& s) {
  json j = {{"value", num(s.value)}};
  if (!s.defined()) j["undefined_reason"] = s.reason;
  return j;
}

/// metrics.json's layout for one set of predictions (the keys the report reads), from the
/// library's metric functions.
json level(const eval::BinaryMetrics& m) {
  json rep;
  const char* names[2] = {"normal", "abnormal"};
  for (int c = 0; c < 2; ++c)
    rep[names[c]] = {{"precision", m.report.classes[c].precision},
                     {"recall", m.report.classes[c].recall},
                     {"f1-score", m.report.classes[c].f1},
                     {"support", m.report.classes[c].support}};
  rep["accuracy"] = m.report.accuracy;
  for (const auto& [name, a] :
       {std::pair<const char*, eval::ClassScores>{"macro avg", m.report.macro_avg},
        {"weighted avg", m.report.weighted_avg}})
    rep[name] = {{"precision", a.precision},
                 {"recall", a.recall},
                 {"f1-score", a.f1},
                 {"support", a.support}};
  return {
      {"n", m.n},
      {"n_abnormal", m.n_pos},
      {"n_normal", m.n_neg},
      {"threshold", m.threshold},
      {"accuracy", m.accuracy},
      {"auroc", score(m.auroc)},
      {"average_precision", score(m.average_precision)},
      {"kappa", score(m.kappa)},
      {"sensitivity", score(m.sensitivity)},
      {"specificity", score(m.specificity)},
      {"confusion_matrix", {{m.confusion.tn, m.confusion.fp}, {m.confusion.fn, m.confusion.tp}}},
      {"classification_report", rep}};
}

/// Images of 3 body parts with signal; XR_ODD<&> has one class only (undefined AUROC).
std::vector<ImageRow> make_rows() {
  Rng rng(9);
  std::vector<ImageRow> rows;
  for (int s = 0; s < 40; ++s) {
    const std::string part = s < 15 ? "XR_HAND" : s < 34 ? "XR_WRIST" : "XR_ODD<&>";
    const int label = part == "XR_ODD<&>" ? 0 : (rng.bernoulli(0.45) ? 1 : 0);
    const std::string study = "MURA/valid/" + part + "/patient" + std::to_string(s) + "/study1/";
    for (int i = 1; i <= 1 + s % 3; ++i)
      rows.push_back({study + "image" + std::to_string(i) + ".png", part, study, label,
                      std::round((0.35 * label + 0.6 * rng.uniform()) * 1e6) / 1e6});
  }
  return rows;
}

json make_metrics(const std::vector<ImageRow>& rows, double threshold = 0.5) {
  std::vector<eval::ImagePrediction> preds;
  for (const auto& r : rows) preds.push_back({r.study, r.body_part, r.label, r.probability});
  const auto studies = eval::aggregate_studies(preds);
  json j;
  j["format_version"] = 1;
  j["mura_version"] = "0.1.0";
  j["created"] = "2024-01-02T03:04:05Z";
  j["checkpoints"] = {"runs/a/best.ckpt"};
  j["architectures"] = {"resnet18"};
  j["data_dir"] = "/data/MURA-v1.1";
  j["split"] = "valid";
  j["tasks"] = json::array();
  j["threshold"] = threshold;
  j["threshold_rule"] = "fixed";
  j["tta"] = "none";
  j["image"] = level(eval::metrics_of(preds, threshold));
  j["study"] = level(eval::metrics_of(studies, threshold));
  for (const auto& [part, m] : eval::per_body_part(preds, threshold))
    j["per_body_part"]["image"][part] = level(m);
  for (const auto& [part, m] : eval::per_body_part(studies, threshold))
    j["per_body_part"]["study"][part] = level(m);
  j["bootstrap"] = {{"resamples", 100}, {"seed", 42}, {"method", "percentile"}};
  for (const char* k : {"study_auroc", "study_kappa", "study_sensitivity", "study_specificity"})
    j["bootstrap"][k] = {{"point", 0.8},       {"lower", 0.61234},      {"upper", 0.95678},
                         {"confidence", 0.95}, {"resamples_used", 100}, {"resamples_skipped", 0}};
  std::vector<int> l;
  std::vector<double> s;
  eval::labels_and_scores(studies, l, s);
  j["calibration"]["study"]["ece"] = eval::calibration(l, s).ece;
  return j;
}

ReportContent make_content() {
  ReportContent c;
  c.images = make_rows();
  c.metrics = make_metrics(c.images);
  c.generated = "2024-01-02T03:04:06Z";
  c.eval_dir = "/tmp/eval";
  c.training_source = "no metrics.csv beside the checkpoint.";
  return c;
}

TEST(Report, EveryTaggedNumberIsMetricsJsonsAndTheHeadlinesAreThere) {
  const ReportContent c = make_content();
  const std::string html = render_html(c);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  const auto bad = test::check_page_numbers(html, c.metrics);
  EXPECT_TRUE(bad.empty()) << bad.size() << " mismatches, first: " << (bad.empty() ? "" : bad[0]);
  std::set<std::string> pointers;
  for (const auto& n : test::page_numbers(html)) pointers.insert(n.pointer);
  for (const char* p :
       {"/study/auroc/value", "/study/kappa/value", "/study/sensitivity/value",
        "/study/specificity/value", "/bootstrap/study_auroc/lower", "/bootstrap/study_auroc/upper",
        "/bootstrap/study_kappa/lower", "/bootstrap/study_sensitivity/upper",
        "/bootstrap/study_specificity/lower", "/study/confusion_matrix/0/1",
        "/image/confusion_matrix/1/1", "/study/classification_report/macro avg/f1-score",
        "/per_body_part/study/XR_WRIST/auroc/value", "/per_body_part/image/XR_HAND/n",
        "/calibration/study/ece"})
    EXPECT_TRUE(pointers.count(p)) << p;
  // The one-class body part: its AUROC is undefined and says why.
  EXPECT_TRUE(pointers.count("/per_body_part/study/XR_ODD<&>/auroc/value"));
  EXPECT_TRUE(contains(
      html, "data-value=\"null\" data-digits=\"4\" title=\"only one class present\">n/a<"));
  EXPECT_FALSE(contains(html, "XR_ODD<&>")) << "names are escaped";
  EXPECT_TRUE(contains(html, "XR_ODD&lt;&amp;&gt;"));
}

TEST(Report, ChartsCurvesAndCalibrationAreDrawnForBothLevels) {
  const std::string html = render_html(make_content());
  for (const char* id :
       {"roc-study", "pr-study", "calibration-study", "roc-image", "pr-image", "calibration-image"})
    EXPECT_TRUE(contains(html, std::string("<svg class=\"chart\" id=\"") + id + "\"")) << id;
  EXPECT_EQ(count_of(html, "<svg class=\"chart\""), 6u) << "no training log: no training charts";
  EXPECT_EQ(count_of(html, "r=\"5\" fill=\"#d62728\""), 4u)
      << "the operating point on ROC and PR, both levels";
  EXPECT_TRUE(contains(html, "No training curves: no metrics.csv beside the checkpoint."));
  EXPECT_TRUE(contains(html, "id=\"render-check\" data-status=\"pending\""));
  std::string stripped = html;
  const std::string ns = "xmlns=\"http://www.w3.org/2000/svg\"";
  for (auto p = stripped.find(ns); p != std::string::npos; p = stripped.find(ns))
    stripped.erase(p, ns.size());
  EXPECT_FALSE(contains(stripped, "http:") || contains(stripped, "https:")) << "nothing is fetched";
  EXPECT_FALSE(contains(stripped, "src=\"//"));
}

TEST(Report, TrainingCurvesComeFromTheLog) {
  ReportContent c = make_content();
  TrainingLog log;
  log.columns = {"epoch", "lr", "train_loss", "val_loss", "val_study_auc", "best"};
  log.values = {{"epoch", {1, 2, 3}},
                {"lr", {1e-3, 1e-3, 1e-4}},
                {"train_loss", {0.7, 0.6, 0.5}},
                {"val_loss", {0.72, std::nan(""), 0.55}},
                {"val_study_auc", {0.6, 0.9, 0.8}},
                {"best", {1, 1, 0}}};
  log.rows = 3;
  c.training = log;
  c.training_source = "runs/a/metrics.csv";
  const std::string html = render_html(c);
  for (const char* id : {"train-loss", "train-auroc", "train-lr"})
    EXPECT_TRUE(contains(html, std::string("id=\"") + id + "\"")) << id;
  EXPECT_TRUE(contains(html, "data-series=\"validation\""));
  EXPECT_FALSE(contains(html, "data-series=\"image\""))
      << "no val_image_auc column: no such series";
  // best.ckpt's epoch (the last row marked best) is marked on the AUROC chart, at (2, 0.9).
  const auto auroc = html.substr(html.find("id=\"train-auroc\""));
  const auto svg = auroc.substr(0, auroc.find("</svg>"));
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 1u);
  const auto marker = svg.substr(svg.find("class=\"marker\""));
  const auto path = svg.substr(svg.find("data-series=\"study\""));
  const auto d = path.substr(path.find("d=\"M") + 4);
  // The series' second point ("L<x> <y>") is where the marker sits.
  const auto second = d.substr(d.find(" L") + 2);
  const std::string x = second.substr(0, second.find(' '));
  const std::string y =
      second.substr(second.find(' ') + 1,
                    second.find_first_of(" \"", second.find(' ') + 1) - second.find(' ') - 1);
  EXPECT_TRUE(contains(marker, "cx=\"" + x + "\" cy=\"" + y + "\""))
      << marker.substr(0, 80) << " vs " << x << "," << y;
}

TEST(Report, GalleryPathsAreEscapedAndMissingPicturesArePlaceholders) {
  ReportContent c = make_content();
  GalleryCase ok;
  ok.kind = CaseKind::FalsePositive;
  ok.row = {"MURA/valid/XR_HAND/<script>alert(1)</script>/a&b.png", "XR_HAND", "s", 0, 0.97};
  cv::Mat img(20, 30, CV_8UC3, cv::Scalar(10, 200, 30));
  ok.jpeg = encode_thumbnail(img, 64, 80, ok.width, ok.height);
  EXPECT_EQ(ok.width, 64);
  EXPECT_EQ(ok.height, 43);
  GalleryCase missing;
  missing.kind = CaseKind::FalseNegative;
  missing.row = {"MURA/valid/XR_HAND/p/s/gone.png", "XR_HAND", "s2", 1, 0.02};
  missing.problem = "image not found on disk: /data/MURA/valid/XR_HAND/p/s/gone.png";
  c.gallery = {ok, missing};
  const std::string html = render_html(c);
  EXPECT_FALSE(contains(html, "<script>alert(1)")) << "a path cannot inject markup";
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;/a&amp;b.png"));
  EXPECT_EQ(count_of(html, "<img src=\"data:image/jpeg;base64,"), 1u);
  EXPECT_TRUE(
      contains(html, "no picture: image not found on disk: /data/MURA/valid/XR_HAND/p/s/gone.png"));
  EXPECT_TRUE(contains(html, "width=\"64\" height=\"43\""));
  // The picture decodes back to what was encoded.
  const std::string b64 = html.substr(
      html.find("base64,") + 7, html.find('"', html.find("base64,")) - html.find("base64,") - 7);
  EXPECT_EQ(b64, base64_encode(ok.jpeg));
  const std::vector<unsigned char> bytes(ok.jpeg.begin(), ok.jpeg.end());
  const cv::Mat back = cv::imdecode(bytes, cv::IMREAD_COLOR);
  EXPECT_EQ(back.cols, 64);
  EXPECT_EQ(back.rows, 43);
}

TEST(Report, GalleryCasesAreTheMostConfidentOfEachKind) {
  std::vector<ImageRow> rows = {{"a", "P", "s", 0, 0.9},  {"b", "P", "s", 0, 0.95},
                                {"c", "P", "s", 0, 0.6},  {"d", "P", "s", 0, 0.1},
                                {"e", "P", "s", 1, 0.05}, {"f", "P", "s", 1, 0.3},
                                {"g", "P", "s", 1, 0.99}, {"h", "P", "s", 1, 0.7},
                                {"i", "P", "s", 1, 0.99}, {"j", "P", "s", 0, 0.5}};
  GalleryOptions o;
  o.false_positives = 2;
  o.false_negatives = 5;
  o.true_positives = 2;
  const auto cases = select_cases(rows, 0.5, o);
  std::vector<std::string> got;
  for (const auto& c : cases) got.push_back(std::string(case_kind_name(c.kind)) + ":" + c.row.path);
  EXPECT_EQ(got,
            (std::vector<std::string>{"false positive:b", "false positive:a", "false negative:e",
                                      "false negative:f", "true positive:g", "true positive:i"}))
      << "0.5 >= threshold counts as abnormal (j is a false positive, but the third); ties by path";
  set_gallery_size(o, 0);
  EXPECT_TRUE(select_cases(rows, 0.5, o).empty());
  set_gallery_size(o, 3);
  EXPECT_EQ(o.true_positives, 2u);
}

TEST(Report, PredictionsOfAnotherRunAreAnError) {
  ReportContent c = make_content();
  c.images.pop_back();
  EXPECT_ERROR_CONTAINS(render_html(c), "not from the same evaluation");
  ReportContent d = make_content();
  for (auto& r : d.images) r.probability = 1.0 - r.probability;  // same counts, reversed ranking
  const std::string html = render_html(d);
  EXPECT_TRUE(contains(html, "class=\"note\">The study-level AUROC of predictions_images.csv"))
      << "a visible warning: " << html.substr(html.find("</header>"), 600);
  EXPECT_TRUE(contains(html, "class=\"note\">The image-level AUROC of predictions_images.csv"));
  EXPECT_FALSE(contains(render_html(make_content()), "class=\"note\""))
      << "no warning when they agree";
}

TEST(Report, WriteReportErrorsNameTheFile) {
  test::TempDir dir;
  app::ReportOptions o;
  o.eval_dir = dir.path().string();
  set_gallery_size(o.gallery, 0);
  const auto error_of = [&] { return test::error_message([&] { app::write_report_for(o); }); };
  EXPECT_TRUE(contains(error_of(), (dir / "metrics.json").string() + ": no such file"))
      << error_of();
  json m = make_metrics(make_rows());
  m["format_version"] = 7;
  test::write_text(dir / "metrics.json", m.dump());
  EXPECT_TRUE(contains(error_of(), "format_version 7 is not supported")) << error_of();
  m["format_version"] = 1;
  test::write_text(dir / "metrics.json", m.dump());
  EXPECT_TRUE(contains(error_of(), (dir / "predictions_images.csv").string() + ": no such file"))
      << error_of();

  // A complete set without a gallery needs no checkpoint and writes the page atomically.
  std::string csv = "path,body_part,study,label,probability\n";
  for (const auto& r : make_rows())
    csv += "\"" + r.path + "\"," + "\"" + r.body_part + "\",\"" + r.study + "\"," +
           std::to_string(r.label) + "," + exact(r.probability) + "\n";
  test::write_text(dir / "predictions_images.csv", csv);
  const auto r = app::write_report_for(o);
  EXPECT_EQ(r.path, (dir / "report.html").string());
  const std::string html = read_file(r.path);
  EXPECT_EQ(html.size(), r.bytes);
  EXPECT_TRUE(test::check_page_numbers(html, m).empty());
  EXPECT_TRUE(contains(html, "No gallery (--gallery 0)."));
  EXPECT_TRUE(contains(html, "runs/a/best.ckpt (not found; identity from metrics.json)"));
  o.training_log = (dir / "no-such-metrics.csv").string();
  EXPECT_TRUE(contains(error_of(), "no-such-metrics.csv"))
      << "an explicit training log must exist: " << error_of();
}

}  // namespace
}  // namespace mura::report
