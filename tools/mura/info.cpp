// mura info: what a checkpoint holds.
#include <cmath>
#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"
#include "mura/util/error.h"
#include "mura/weights/checkpoint.h"

namespace mura::cli {

void add_info_command(CLI::App& app, Runner& run) {
  auto checkpoint = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("info", "print what a mura checkpoint holds");
  sub->add_option("checkpoint", *checkpoint, "the checkpoint (or give --checkpoint)");
  add_checkpoint_in_flag(*sub, *checkpoint);
  auto console = std::make_shared<ConsoleOptions>();
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      MURA_CHECK(!checkpoint->empty(),
                 "give the checkpoint: mura info FILE (or --checkpoint FILE)");
      const auto c = weights::load_checkpoint(*checkpoint);
      std::cout << "checkpoint:     " << *checkpoint << " (format_version " << c.format_version
                << ", mura " << c.mura_version << ", " << c.created << ")\n"
                << "architecture:   " << c.spec.arch << ", " << c.spec.num_outputs << " output(s)\n"
                << "input:          " << c.spec.image_size << " px, mean [" << c.spec.mean[0]
                << ", " << c.spec.mean[1] << ", " << c.spec.mean[2] << "], std [" << c.spec.std[0]
                << ", " << c.spec.std[1] << ", " << c.spec.std[2] << "]\n"
                << "threshold:      " << weights::describe_threshold(c.spec) << "\n"
                << "epochs done:    " << c.state.epoch << " (" << c.state.global_step
                << " steps)\n";
      if (!c.state.best_metric_name.empty())
        std::cout << "best metric:    " << c.state.best_metric_name << " = " << c.state.best_metric
                  << "\n";
      std::cout << "optimizer:      " << (c.optimizer_state.empty() ? "no" : "yes") << "\n"
                << "precision:      " << c.state.precision
                << (c.state.channels_last ? ", channels-last" : "") << "\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
