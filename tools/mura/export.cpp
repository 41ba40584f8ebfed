// mura export: checkpoint -> TorchScript module (probabilities, with embedded metadata).
#include "mura/weights/export.h"

#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"

namespace mura::cli {

void add_export_command(CLI::App& app, Runner& run) {
  auto checkpoint = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "export", "write a TorchScript module (input [B,3,H,W] normalised, output probabilities)");
  add_checkpoint_in_flag(*sub, *checkpoint)->required();
  add_out_file_flag(*sub, *output, /*required=*/true);
  auto console = std::make_shared<ConsoleOptions>();
  add_console_flags(*sub, *console);
  sub->callback([=, &run] {
    run = [=] {
      const auto ckpt = weights::load_checkpoint(*checkpoint);
      weights::export_torchscript(ckpt, *output);
      std::cout << "exported " << ckpt.spec.arch << " (" << ckpt.spec.image_size << " px) to "
                << *output << "\n";
      return 0;
    };
  });
}

}  // namespace mura::cli
