// mura calibrate: temperature scaling and an operating point chosen on labelled studies,
// written into a checkpoint (app/calibration.h).
#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"
#include "mura/app/calibration.h"
#include "mura/eval/summary.h"

namespace mura::cli {

void add_calibrate_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<app::CalibrateOptions>();
  auto keep_temperature = std::make_shared<bool>(false);
  auto console = std::make_shared<ConsoleOptions>();
  CLI::App* sub = app.add_subcommand(
      "calibrate",
      "fit temperature scaling and choose the operating point on labelled studies; write the "
      "checkpoint with them");
  sub->option_defaults()->always_capture_default();
  add_labelled_data_flags(*sub, o->data_dir, o->tasks, o->skip_bad, o->dicom, o->dicom_window);
  add_checkpoint_in_flag(*sub, o->checkpoint)->required();
  add_out_file_flag(*sub, o->output);
  sub->get_option("--output")->default_str("CHECKPOINT.calibrated.ckpt beside it");
  add_split_flag(*sub, o->split, eval::evaluation_split_names());
  add_threshold_flag(*sub, o->threshold);
  sub->get_option("--threshold")->default_str("the checkpoint's rule again, else its threshold");
  sub->add_flag("--keep-temperature", *keep_temperature,
                "do not fit a temperature (only choose the operating point)");
  add_bootstrap_flag(*sub, o->bootstrap);
  add_seed_flag(*sub, o->seed);
  add_batch_size_flag(*sub, o->batch_size);
  add_runtime_flags(*sub, o->runtime, {/*fold_batchnorm=*/false, /*deterministic=*/false});
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      ConsoleSink sink(*console);
      o->fit_temperature = !*keep_temperature;
      const auto r = app::run_calibration(*o, sink);
      std::cout << r.report;
      return 0;
    };
  });
}

}  // namespace mura::cli
