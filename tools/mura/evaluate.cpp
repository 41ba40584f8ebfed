// mura evaluate: image- and study-level metrics, per body part, with bootstrap intervals.
#include <iostream>
#include <memory>

#include "cli.h"
#include "mura/eval/evaluate.h"

namespace mura::cli {

void add_evaluate_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<eval::EvaluateOptions>();
  auto report_path = std::make_shared<std::string>();
  auto gallery = std::make_shared<report::GalleryOptions>();
  auto gallery_size = std::make_shared<std::size_t>(6);
  CLI::App* sub = app.add_subcommand(
      "evaluate", "metrics of a model or an ensemble at image and study level, per body part");
  sub->option_defaults()->always_capture_default();
  add_data_dir_flag(*sub, o->data_dir);
  add_tasks_flag(*sub, o->tasks);
  add_skip_bad_flag(*sub, o->skip_bad);
  sub->add_option("--checkpoint,--checkpoint_path,--checkpoint-path,--load-checkpoint,--load_checkpoint",
                  o->checkpoints, "mura checkpoint; repeat for an ensemble (mean probability)")
      ->required()
      ->take_all();
  sub->add_option("--output-dir,--output_dir", o->output_dir,
                  "where metrics.json and the prediction CSVs go (default: the checkpoint's folder)");
  sub->add_option("--split", o->split,
                  "valid: the official validation split; heldout: the checkpoint's patient-level "
                  "validation part of train")
      ->check(CLI::IsMember({"valid", "heldout"}));
  sub->add_option("--threshold", o->threshold, "decision threshold in (0, 1), or youden");
  auto* tta = sub->add_option("--tta", "test-time augmentation: none or flip")->check(CLI::IsMember({"none", "flip"}));
  sub->add_option("--bootstrap", o->bootstrap, "bootstrap resamples for the 95% intervals (0: off)");
  sub->add_option("--seed", o->seed, "bootstrap seed");
  sub->add_option("--batch-size,--batch_size", o->batch_size)->check(CLI::Range(1, 65536));
  add_thread_flags(*sub, o->workers, o->threads);
  sub->add_option("--device", o->device)->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  add_precision_flags(*sub, o->precision, o->channels_last);
  sub->add_flag("--fold-bn,!--no-fold-bn", o->fold_batchnorm,
                "fold BatchNorm into the convolutions before inference");
  sub->add_option("--report", *report_path,
                  "also write a self-contained HTML report here (what 'mura report' writes)");
  add_report_flags(*sub, *gallery, *gallery_size);
  sub->callback([=, &run] {
    run = [=] {
      o->tta_flip = tta->count() > 0 && tta->as<std::string>() == "flip";
      const auto r = eval::evaluate(*o);
      std::cout << r.report;
      if (report_path->empty()) return 0;
      std::cout.flush();
      report::ReportOptions ro;
      ro.eval_dir = r.output_dir;
      ro.checkpoints = o->checkpoints;
      ro.data_dir = o->data_dir;
      ro.out = *report_path;
      ro.gallery = *gallery;
      ro.gallery.device = o->device;
      return write_html_report(ro, *gallery_size);
    };
  });
}

}  // namespace mura::cli
