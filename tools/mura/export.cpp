// mura export: checkpoint -> TorchScript module (probabilities, with embedded metadata).
#include <iostream>
#include <memory>

#include "cli.h"
#include "mura/weights/export.h"

namespace mura::cli {

void add_export_command(CLI::App& app, Runner& run) {
  auto checkpoint = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "export", "write a TorchScript module (input [B,3,H,W] normalised, output probabilities)");
  sub->add_option("--checkpoint,--checkpoint_path,--checkpoint-path", *checkpoint, "mura checkpoint")
      ->required();
  sub->add_option("--output,-o", *output, "TorchScript file to write (e.g. model.pt)")->required();
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
