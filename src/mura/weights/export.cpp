#include "mura/weights/export.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>

#include <sstream>

#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/weights/torchvision.h"

namespace mura::weights {

void export_torchscript(const Checkpoint& ckpt, const std::filesystem::path& out) {
  // Trace a private CPU copy whose parameters do not require grad (the tracer embeds them as
  // constants, which it only accepts without grad).
  auto model = models::create_model(ckpt.spec.arch, ckpt.spec.num_outputs);
  load_state_dict(*model, model_state_dict(*ckpt.model), "checkpoint");
  model->eval();
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  model->fold_batchnorm();  // the inference graph: BatchNorm folded into the convolutions
  const int64_t n_out = ckpt.spec.num_outputs;

  const int size = ckpt.spec.image_size;
  auto example = torch::randn({2, 3, size, size});
  auto traced_fn = [&](torch::jit::Stack in) -> torch::jit::Stack {
    auto logits = model->forward(in.at(0).toTensor());
    if (ckpt.spec.temperature != 1.0) logits = logits / ckpt.spec.temperature;  // scaling
    auto p =
        n_out == 1 ? torch::sigmoid(logits.select(1, 0)) : torch::softmax(logits, 1).select(1, 1);
    return {p};
  };
  std::shared_ptr<torch::jit::tracer::TracingState> state;
  try {
    state =
        torch::jit::tracer::trace(
            {example}, traced_fn, [](const torch::autograd::Variable&) { return std::string(); },
            /*strict=*/false, /*force_outplace=*/false)
            .first;
  } catch (const c10::Error& e) {
    throw Error(std::string("TorchScript export failed while tracing: ") +
                e.what_without_backtrace());
  }
  auto graph = state->graph;

  torch::jit::Module module("__torch__.mura.MuraModel");
  module.register_attribute("architecture", c10::StringType::get(), ckpt.spec.arch);
  module.register_attribute("image_size", c10::IntType::get(), static_cast<int64_t>(size));
  module.register_attribute("num_outputs", c10::IntType::get(), n_out);
  module.register_attribute(
      "mean", c10::ListType::ofFloats(),
      c10::List<double>({ckpt.spec.mean[0], ckpt.spec.mean[1], ckpt.spec.mean[2]}));
  module.register_attribute(
      "std", c10::ListType::ofFloats(),
      c10::List<double>({ckpt.spec.std[0], ckpt.spec.std[1], ckpt.spec.std[2]}));
  module.register_attribute("threshold", c10::FloatType::get(), ckpt.spec.threshold);
  // already applied inside forward (the output is the calibrated probability); for reading
  module.register_attribute("temperature", c10::FloatType::get(), ckpt.spec.temperature);
  module.register_attribute("mura_version", c10::StringType::get(), std::string(MURA_VERSION));
  module.register_attribute("format_version", c10::IntType::get(), kExportFormatVersion);

  graph->insertInput(0, "self")->setType(module._ivalue()->type());
  auto cu = module._ivalue()->compilation_unit();
  auto* fn = cu->create_function(c10::QualifiedName(*module.type()->name(), "forward"), graph);
  module.type()->addMethod(fn);
  // Frozen (torch.jit.freeze): attributes other than the metadata are inlined and the frozen
  // graph optimisations run; the metadata attributes stay readable.
  try {
    module.eval();
    module = torch::jit::freeze(
        module, std::vector<std::string>{"architecture", "image_size", "num_outputs", "mean", "std",
                                         "threshold", "mura_version", "format_version"});
  } catch (const c10::Error& e) {
    throw Error(std::string("TorchScript export failed while freezing: ") +
                e.what_without_backtrace());
  }

  // Into memory first: LibTorch's zip writer throws from its destructor on a short write (a
  // full disk), which would end the process; write_file_atomic then reports the disk's error.
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomic(out, bytes.str());
}

}  // namespace mura::weights
