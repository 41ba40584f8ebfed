// mura convert-weights: torchvision .pth state dict -> mura checkpoint.
#include <iostream>
#include <memory>

#include "cli.h"
#include "flags.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/weights/checkpoint.h"
#include "mura/weights/torchvision.h"

namespace mura::cli {

namespace {

struct ConvertOptions {
  std::string arch;  // empty: guess from the file
  std::string input, output;
  int64_t num_outputs = 0;  // 0: keep the file's head
  int image_size = 224;
  ConsoleOptions console;
};

int run_convert(const ConvertOptions& o) {
  const auto file = weights::read_pth(o.input);
  std::string arch;
  if (o.arch.empty()) {
    const auto guess = weights::guess_architecture(file.tensors);
    if (!guess) throw Error(o.input + ": cannot tell the architecture from the keys; pass --arch");
    arch = *guess;
  } else {
    try {
      arch = models::canonical_architecture(o.arch);
    } catch (const Error& e) {
      throw Error(std::string("--arch: ") + e.what());
    }
  }
  // The file's head size, unless another one is asked for.
  int64_t file_outputs = 0;
  const std::string head_w = models::head_weight_key(arch);
  for (const auto& t : file.tensors)
    if (t.name == head_w && t.tensor.dim() == 2) file_outputs = t.tensor.size(0);
  const int64_t n = o.num_outputs > 0 ? o.num_outputs : (file_outputs > 0 ? file_outputs : 1);
  auto model = models::create_model(arch, n);
  const auto report = weights::load_state_dict(*model, file.tensors, o.input);
  weights::ModelSpec spec;
  spec.arch = arch;
  spec.num_outputs = n;
  spec.image_size = o.image_size;
  weights::save_checkpoint(o.output, spec, *model);
  std::cout << "converted " << o.input << " (" << arch << ", "
            << (file.format == weights::PthFormat::Zip ? "zip" : "legacy") << " format, "
            << report.loaded << " tensors";
  if (report.remapped) std::cout << ", " << report.remapped << " legacy names mapped";
  if (!report.skipped_head.empty()) std::cout << ", new " << n << "-output head";
  std::cout << ") -> " << o.output << "\n";
  return 0;
}

}  // namespace

void add_convert_weights_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* sub = app.add_subcommand(
      "convert-weights",
      "convert a torchvision .pth state dict (zip or legacy format) to a mura checkpoint");
  add_model_flag(*sub, o->arch)->default_str("guessed from the file");
  add_input_flag(*sub, o->input);
  add_out_file_flag(*sub, o->output, /*required=*/true);
  add_console_flags(*sub, o->console);
  sub->add_option(
         "--num-outputs,--num_outputs", o->num_outputs,
         "head size of the checkpoint (1 for the MURA paper's sigmoid); default: the file's")
      ->check(CLI::Range(1, 100000));
  add_image_size_flag(*sub, o->image_size);
  sub->get_option("--img-size")->capture_default_str();
  sub->callback([o, &run] { run = [o] { return run_convert(*o); }; });
}

}  // namespace mura::cli
