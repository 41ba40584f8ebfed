#include "mura/app/report.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "mura/data/image.h"
#include "mura/data/loader.h"
#include "mura/explain/render.h"
#include "mura/report/html.h"
#include "mura/report/inputs.h"
#include "mura/report/report.h"
#include "mura/report/sections.h"
#include "mura/util/atomic_file.h"
#include "mura/util/clock.h"
#include "mura/util/error.h"

namespace mura::app {
namespace fs = std::filesystem;
using nlohmann::json;

void render_cases(std::vector<report::GalleryCase>& cases,
                  const std::vector<weights::Checkpoint>& ckpts, const fs::path& data_dir,
                  const report::GalleryOptions& o, const std::string& dicom_window) {
  if (cases.empty()) return;
  if (ckpts.empty())
    throw Error("gallery: no checkpoint to compute Grad-CAM with (give --checkpoint)");
  std::vector<std::shared_ptr<models::ClassifierImpl>> models;
  for (const auto& c : ckpts) {
    const auto& a = ckpts.front().spec;
    if (c.spec.image_size != a.image_size || c.spec.mean != a.mean || c.spec.std != a.std)
      throw Error("gallery: the ensemble's members need the same input size and normalisation");
    models.push_back(c.model);
  }
  const torch::Device device = ckpts.front().model->parameters().front().device();

  std::vector<data::Sample> samples;
  std::vector<std::size_t> which;  // sample -> case
  for (std::size_t i = 0; i < cases.size(); ++i) {
    report::GalleryCase& c = cases[i];
    c.file = report::resolve_image(data_dir, c.row.path);
    std::error_code ec;
    if (!fs::is_regular_file(c.file, ec)) {
      c.problem = "image not found on disk: " + c.file.string();
      continue;
    }
    samples.push_back({c.file, c.row.label, c.row.study, "", c.row.body_part});
    which.push_back(i);
  }
  if (samples.empty()) return;

  data::LoaderOptions lo;
  lo.batch_size = std::max(1, o.batch_size);
  lo.workers = 0;
  lo.skip_unreadable = true;
  lo.decode.dicom_window = dicom_window;
  lo.transform = data::TransformOptions::evaluation(ckpts[0].spec.image_size);
  lo.transform.mean = ckpts[0].spec.mean;
  lo.transform.std = ckpts[0].spec.std;
  data::Loader loader(samples, lo);
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const auto cams = explain::compute_cam(models, batch->images.to(device), o.method);
    for (std::size_t j = 0; j < batch->size(); ++j) {
      report::GalleryCase& c = cases[which[batch->indices[j]]];
      if (!batch->errors[j].empty()) {
        c.problem = "image not readable: " + batch->errors[j];
        continue;
      }
      try {
        const cv::Mat gray = data::load_gray(c.file, lo.decode);
        const auto k = static_cast<int64_t>(j);
        const cv::Mat cam =
            explain::cam_to_image(cams.cams[k], cams.geometry, gray.cols, gray.rows);
        c.cam_probability = cams.probabilities[k].item<double>();
        c.jpeg = report::encode_thumbnail(explain::overlay(gray, cam, o.alpha), o.thumb_size,
                                          o.jpeg_quality, c.width, c.height);
      } catch (const Error& e) {
        c.problem = std::string("image not readable: ") + e.what();
      }
    }
  }
}

namespace {

ReportResult report_composed(const ReportOptions& o, Sink& sink) {
  if (o.eval_dir.empty())
    throw Error("--eval-dir: give the folder 'mura evaluate' wrote metrics.json into");
  const fs::path dir(o.eval_dir);
  report::ReportContent c;
  c.title = o.title;
  c.eval_dir = dir.string();
  c.metrics = report::read_metrics_json(dir / "metrics.json");
  c.images = report::read_image_predictions(dir / "predictions_images.csv");
  c.generated = utc_timestamp();

  std::vector<std::string> checkpoints = o.checkpoints;
  if (checkpoints.empty())
    if (const json* v = report::find(c.metrics, "/checkpoints"); v && v->is_array())
      for (const auto& e : *v)
        if (e.is_string()) checkpoints.push_back(e.get<std::string>());
  const fs::path data_dir =
      o.data_dir.empty() ? fs::path(report::text_at(c.metrics, "/data_dir")) : fs::path(o.data_dir);

  // Training curves: an explicit log must be readable; the default one is optional.
  if (!o.training_log.empty()) {
    c.training = report::read_training_log(o.training_log);
    c.training_source = o.training_log;
  } else if (checkpoints.empty()) {
    c.training_source = "no checkpoint named, so no metrics.csv to look for.";
  } else {
    const fs::path log = fs::path(checkpoints.front()).parent_path() / "metrics.csv";
    if (fs::exists(log)) {
      try {
        c.training = report::read_training_log(log);
        c.training_source = log.string();
      } catch (const Error& e) {
        c.training_source = "no readable metrics.csv beside the checkpoint.";
        c.notes.push_back(std::string("Training curves left out: ") + e.what());
      }
    } else {
      c.training_source = "no metrics.csv beside the checkpoint (" + log.string() + ").";
    }
  }

  const auto& g = o.gallery;
  c.gallery_requested = g.false_positives + g.false_negatives + g.true_positives > 0;
  std::vector<weights::Checkpoint> loaded;
  const bool need_models = c.gallery_requested;
  const torch::Device device =
      need_models ? resolve_runtime(o.runtime).device : torch::Device(torch::kCPU);
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    const std::string& path = checkpoints[i];
    if (!need_models && !fs::exists(path)) {
      c.identity.emplace_back("checkpoint " + std::to_string(i + 1),
                              path + " (not found; identity from metrics.json)");
      continue;
    }
    try {
      loaded.push_back(weights::load_checkpoint(path, device));
    } catch (...) {
      rethrow_with_context("--checkpoint " + path +
                           " (needed for the Grad-CAM gallery; --gallery 0 skips it)");
    }
    const auto& ck = loaded.back();
    std::ostringstream v;
    v << ck.spec.arch << ", " << ck.spec.image_size << " px, epoch " << ck.state.epoch << ", step "
      << ck.state.global_step;
    if (!ck.state.best_metric_name.empty() && std::isfinite(ck.state.best_metric))
      v << ", best " << ck.state.best_metric_name << " " << report::fixed(ck.state.best_metric);
    v << ", saved " << ck.created << " by mura " << ck.mura_version;
    c.identity.emplace_back("checkpoint " + std::to_string(i + 1), v.str());
  }
  if (c.gallery_requested) {
    c.gallery = report::select_cases(c.images, report::number_at(c.metrics, "/image/threshold"), g);
    render_cases(c.gallery, loaded, data_dir, g, o.dicom_window);
    std::size_t missing = 0;
    for (const auto& gc : c.gallery) missing += gc.problem.empty() ? 0 : 1;
    if (missing > 0)
      c.notes.push_back(std::to_string(missing) + " of the gallery's " +
                        std::to_string(c.gallery.size()) +
                        " pictures could not be made (shown as placeholders): is --data-dir " +
                        data_dir.string() + " the data set that was evaluated?");
  }

  const std::string html = report::render_html(c);
  const fs::path out = o.out.empty() ? dir / "report.html" : fs::path(o.out);
  write_file_atomic(out, html);

  ReportResult r;
  r.path = out.string();
  r.bytes = html.size();
  for (const auto& gc : c.gallery) (gc.problem.empty() ? r.gallery_pictures : r.gallery_missing)++;
  r.training_curves = c.training && c.training->rows > 0;
  r.notes = c.notes;
  for (const auto& n : c.notes) sink.warn(n);
  return r;
}

}  // namespace

ReportResult write_report_for(const ReportOptions& options, Sink& sink) {
  return at_boundary("writing the report of " + options.eval_dir,
                     [&] { return report_composed(options, sink); });
}

}  // namespace mura::app
