// mura report: one self-contained HTML page about an evaluation (identity, headline numbers
// with intervals, curves, calibration, tables, training curves, Grad-CAM gallery).
#include "mura/report/report.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.h"
#include "mura/explain/gradcam.h"

namespace mura::cli {

void add_report_flags(CLI::App& sub, report::GalleryOptions& gallery, std::size_t& gallery_size) {
  sub.add_option("--gallery", gallery_size,
                 "Grad-CAM gallery: up to N most confident false positives, N false negatives and "
                 "(N+1)/2 true positives; 0: none")
      ->check(CLI::Range(0, 50));
  sub.add_option("--thumb-size,--thumb_size", gallery.thumb_size,
                 "longest side of a gallery picture, px")
      ->check(CLI::Range(64, 1024));
}

int write_html_report(report::ReportOptions options, std::size_t gallery_size) {
  report::set_gallery_size(options.gallery, gallery_size);
  const auto r = report::write_report(options);
  for (const auto& n : r.notes) std::cerr << "mura: note: " << n << "\n";
  std::printf(
      "report: %s (%.1f KB; gallery %zu picture(s)%s; %s)\n", r.path.c_str(),
      static_cast<double>(r.bytes) / 1024.0, r.gallery_pictures,
      r.gallery_missing ? (", " + std::to_string(r.gallery_missing) + " missing").c_str() : "",
      r.training_curves ? "training curves" : "no training curves");
  return 0;
}

void add_report_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<report::ReportOptions>();
  auto gallery_size = std::make_shared<std::size_t>(6);
  auto method = std::make_shared<std::string>("gradcam");
  CLI::App* sub = app.add_subcommand(
      "report",
      "a self-contained HTML report of an evaluation: numbers with intervals, curves, "
      "calibration, tables, training curves, Grad-CAM gallery");
  sub->option_defaults()->always_capture_default();
  sub->add_option("--eval-dir,--eval_dir", o->eval_dir,
                  "the folder where 'mura evaluate' wrote metrics.json and predictions_images.csv")
      ->required();
  sub->add_option(
         "--checkpoint,--checkpoint_path,--checkpoint-path,--load-checkpoint,--load_checkpoint",
         o->checkpoints,
         "checkpoint(s) for the identity and the Grad-CAM gallery (default: those metrics.json "
         "names)")
      ->take_all();
  sub->add_option("--data-dir,--data_dir", o->data_dir,
                  "data set holding the gallery's images (default: metrics.json's data_dir)");
  sub->add_option("--out,--output", o->out, "the HTML file (default: <eval-dir>/report.html)");
  sub->add_option(
      "--training-log,--training_log", o->training_log,
      "metrics.csv of the training run (default: the one beside the first checkpoint, if any)");
  sub->add_option("--title", o->title, "the page's heading");
  add_report_flags(*sub, o->gallery, *gallery_size);
  sub->add_option("--method", *method, "Grad-CAM method: gradcam or gradcam++")
      ->check(CLI::IsMember({"gradcam", "gradcam++"}));
  sub->add_option("--alpha", o->gallery.alpha, "heatmap weight in the overlay")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--device", o->gallery.device)->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub->callback([=, &run] {
    run = [=] {
      o->gallery.method = explain::parse_cam_method(*method);
      return write_html_report(*o, *gallery_size);
    };
  });
}

}  // namespace mura::cli
