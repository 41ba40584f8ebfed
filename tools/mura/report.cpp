// mura report: one self-contained HTML page about an evaluation (identity, headline numbers
// with intervals, curves, calibration, tables, training curves, Grad-CAM gallery).
#include <cstdio>
#include <memory>

#include "cli.h"
#include "flags.h"
#include "report_flags.h"

namespace mura::cli {

int write_html_report(app::ReportOptions options, std::size_t gallery_size, Sink& sink) {
  report::set_gallery_size(options.gallery, gallery_size);
  const auto r = app::write_report_for(options, sink);
  std::printf(
      "report: %s (%.1f KB; gallery %zu picture(s)%s; %s)\n", r.path.c_str(),
      static_cast<double>(r.bytes) / 1024.0, r.gallery_pictures,
      r.gallery_missing ? (", " + std::to_string(r.gallery_missing) + " missing").c_str() : "",
      r.training_curves ? "training curves" : "no training curves");
  return 0;
}

void add_report_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<app::ReportOptions>();
  auto gallery_size = std::make_shared<std::size_t>(6);
  auto console = std::make_shared<ConsoleOptions>();
  CLI::App* sub = app.add_subcommand("report",
                                     "a self-contained HTML report of an evaluation: numbers with "
                                     "intervals, curves, calibration, tables, "
                                     "training curves, Grad-CAM gallery");
  sub->option_defaults()->always_capture_default();
  sub->add_option("--eval-dir,--eval_dir", o->eval_dir,
                  "the folder where 'mura evaluate' wrote metrics.json and predictions_images.csv")
      ->required();
  add_checkpoints_in_flag(*sub, o->checkpoints, /*required=*/false);
  sub->get_option("--checkpoint")->default_str("those metrics.json names");
  add_data_dir_flag(*sub, o->data_dir, /*required=*/false);
  sub->get_option("--data-dir")->default_str("metrics.json's data_dir");
  add_out_file_flag(*sub, o->out);
  sub->get_option("--out")->default_str("EVAL_DIR/report.html");
  sub->add_option(
      "--training-log,--training_log", o->training_log,
      "metrics.csv of the training run (default: the one beside the first checkpoint, if any)");
  sub->add_option("--title", o->title, "the page's heading");
  add_gallery_flags(*sub, o->gallery, *gallery_size);
  add_cam_flags(*sub, o->gallery.method, o->gallery.alpha);
  add_runtime_flags(*sub, o->runtime);
  add_dicom_window_flag(*sub, o->dicom_window);
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      ConsoleSink sink(*console);
      return write_html_report(*o, *gallery_size, sink);
    };
  });
}

}  // namespace mura::cli
