#pragma once
/// The report: one self-contained HTML page about an evaluation run, for people to read and
/// e-mail, rendered from content already loaded (app/report.h reads the files, loads the
/// checkpoints and runs Grad-CAM for the gallery).
///
/// The page holds the run's identity, the study-level headline numbers with their 95%
/// bootstrap intervals, ROC and precision-recall curves (study and image level) with the
/// operating point, reliability diagrams with the ECE, confusion matrices, classification
/// reports, per-body-part tables, training curves (when the checkpoint's folder has
/// metrics.csv) and a gallery of Grad-CAM overlays. Styles, the small check script and the
/// pictures (JPEG data URIs) are inlined and the charts are inline SVG, so it opens offline.
///
/// Numbers: every number taken from metrics.json is shown in an element
///   <span data-metric="/study/auroc/value" data-value="0.9234567">0.9235</span>
/// whose data-metric is the JSON pointer into metrics.json and data-value the exact number
/// (what nlohmann::json writes; "null" when undefined), so a reader or a test can check the
/// page against the file. Curves come from predictions_images.csv (study = mean of its
/// images, as in evaluate); their markers and legends use metrics.json's numbers.
///
/// The page's inline script checks on load that every chart and picture has a non-zero
/// size and that no script error occurred, and writes the outcome into
/// <p id="render-check" data-status="ok|fail" data-charts=N data-images=N>.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mura/report/gallery.h"
#include "mura/report/inputs.h"

namespace mura::report {

/// Everything the page shows, already loaded (render_html is pure: tests build pages from
/// hand-made content).
struct ReportContent {
  std::string title = "mura evaluation report";
  nlohmann::json metrics;        ///< metrics.json (as read_metrics_json checks it)
  std::vector<ImageRow> images;  ///< predictions_images.csv
  std::optional<TrainingLog> training;
  std::string training_source;  ///< the metrics.csv shown, or why there are no curves
  std::vector<GalleryCase> gallery;
  bool gallery_requested = true;
  std::vector<std::pair<std::string, std::string>> identity;  ///< extra rows (checkpoint facts)
  std::vector<std::string> notes;                             ///< warnings shown at the top
  std::string generated;                                      ///< UTC time the report was made
  std::string eval_dir;
};

/// The whole HTML document. Throws mura::Error when the content is inconsistent (e.g. the
/// predictions do not match metrics.json's counts).
std::string render_html(const ReportContent& content);

}  // namespace mura::report
