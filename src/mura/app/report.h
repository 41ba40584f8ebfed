#pragma once
/// `mura report` (and `mura evaluate --report`) as a composition: reads an evaluation's
/// files, loads the checkpoints for the identity and the Grad-CAM gallery, renders the page
/// (report/report.h) and writes it atomically.
#include <cstddef>
#include <string>
#include <vector>

#include "mura/report/gallery.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"

namespace mura::app {

struct ReportOptions {
  std::string eval_dir;  ///< holds metrics.json and predictions_images.csv (required)
  std::vector<std::string> checkpoints;  ///< default: those metrics.json names
  std::string data_dir;      ///< to find the gallery's images; default: metrics.json's data_dir
  std::string out;           ///< default: <eval_dir>/report.html
  std::string training_log;  ///< default: metrics.csv beside the first checkpoint, if there
  report::GalleryOptions gallery;  ///< all counts 0: no gallery, no checkpoint needed
  std::string title = "mura evaluation report";
  RuntimeOptions runtime;    ///< where the gallery's Grad-CAM runs
  std::string dicom_window;  ///< DecodeOptions::dicom_window (DICOM gallery images)
};

struct ReportResult {
  std::string path;  ///< the HTML file written
  std::size_t bytes = 0;
  std::size_t gallery_pictures = 0;  ///< cases with a picture
  std::size_t gallery_missing = 0;   ///< cases shown as a placeholder (image missing/unreadable)
  bool training_curves = false;
  std::vector<std::string> notes;  ///< what the page warns about (also sent to the sink)
};

/// Reads the evaluation's files, renders the gallery, writes the page atomically.
/// Throws mura::Error for a missing or foreign metrics.json / predictions_images.csv, files
/// of different runs (counts that disagree), a bad training log given explicitly, or a
/// checkpoint that cannot be loaded while a gallery is asked for.
ReportResult write_report_for(const ReportOptions& options, Sink& sink = null_sink());

/// Fills in each case's overlay with the loaded checkpoints (an ensemble: the mean CAM):
/// finds the image below `data_dir` (see resolve_image), runs Grad-CAM on the abnormal
/// logit (on the device the models are on), blends the heatmap on the image at its original
/// aspect and scales it to `thumb_size`. An image that is missing or unreadable gets
/// `problem` set and never stops the report. Throws mura::Error when there are cases but no
/// checkpoints, or the ensemble's members differ in input size or normalisation.
void render_cases(std::vector<report::GalleryCase>& cases,
                  const std::vector<weights::Checkpoint>& checkpoints,
                  const std::filesystem::path& data_dir, const report::GalleryOptions& options,
                  const std::string& dicom_window = "");

}  // namespace mura::app
