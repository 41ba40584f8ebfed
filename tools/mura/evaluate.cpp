// mura evaluate: image- and study-level metrics, per body part, with bootstrap intervals.
#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"
#include "mura/app/distributed.h"
#include "mura/app/evaluation.h"
#include "mura/eval/summary.h"
#include "report_flags.h"

namespace mura::cli {

void add_evaluate_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<app::EvaluateOptions>();
  auto report_path = std::make_shared<std::string>();
  auto gallery = std::make_shared<report::GalleryOptions>();
  auto gallery_size = std::make_shared<std::size_t>(6);
  auto console = std::make_shared<ConsoleOptions>();
  CLI::App* sub = app.add_subcommand(
      "evaluate", "metrics of a model or an ensemble at image and study level, per body part");
  sub->option_defaults()->always_capture_default();
  add_labelled_data_flags(*sub, o->data_dir, o->tasks, o->skip_bad, o->dicom, o->dicom_window);
  add_checkpoints_in_flag(*sub, o->checkpoints);
  add_output_dir_flag(*sub, o->output_dir);
  sub->get_option("--output-dir")->default_str("the checkpoint's folder");
  add_split_flag(*sub, o->split, eval::evaluation_split_names());
  add_threshold_flag(*sub, o->threshold);
  add_tta_flag(*sub, o->tta_flip);
  add_bootstrap_flag(*sub, o->bootstrap);
  add_seed_flag(*sub, o->seed);
  add_batch_size_flag(*sub, o->batch_size);
  add_runtime_flags(*sub, o->runtime, {/*fold_batchnorm=*/true, /*deterministic=*/false});
  auto dist_timeout = std::make_shared<int>(300);
  add_dist_timeout_flag(*sub, *dist_timeout);
  sub->add_option("--report", *report_path,
                  "also write a self-contained HTML report here (what 'mura report' writes)")
      ->default_str("none");
  add_gallery_flags(*sub, *gallery, *gallery_size);
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      ConsoleSink console_sink(*console);
      const app::Launched launched = app::join_launched_group(*dist_timeout, o->runtime.device);
      o->runtime.group = launched.group;
      RankZeroSink sink(console_sink, launched.group->rank());
      const auto r = app::run_evaluation(*o, sink);
      if (launched.group->rank() != 0) return 0;  // rank 0 wrote and reports
      std::cout << r.report;
      if (report_path->empty()) return 0;
      std::cout.flush();
      app::ReportOptions ro;
      ro.eval_dir = r.output_dir;
      ro.checkpoints = o->checkpoints;
      ro.data_dir = o->data_dir;
      ro.out = *report_path;
      ro.gallery = *gallery;
      ro.runtime = o->runtime;
      ro.dicom_window = o->dicom_window;
      return write_html_report(ro, *gallery_size, sink);
    };
  });
}

}  // namespace mura::cli
