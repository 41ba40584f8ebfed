// The checkpoint reader: the zip/LibTorch archive, mura_format_version, the metadata JSON
// (spec, training state, held-out split) and the model's tensors by name and shape.
// MURA_FUZZ_WRITE_SEED=FILE writes a small valid-shaped seed (a real archive whose model
// record holds only some tensors) and exits: seeds need no 45 MB ResNet.
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "mura/weights/checkpoint.h"

namespace {

void write_seed(const char* file) {
  torch::serialize::OutputArchive archive;
  archive.write("mura_format_version",
                c10::IValue(int64_t{mura::weights::kCheckpointFormatVersion}));
  const std::string meta =
      R"({"mura_version":"0.1.0","created":"2026-12-07T00:00:00Z",)"
      R"("spec":{"arch":"resnet18","num_outputs":1,"image_size":32,)"
      R"("mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"threshold":0.5},)"
      R"("state":{"epoch":1,"global_step":2,"best_metric_name":"val_study_auc","best_metric":null,)"
      R"("options":{},"scheduler":{},"precision":"fp32","channels_last":false,)"
      R"("split":{"val_source":"split","val_fraction":0.15,"seed":42,"tasks":["XR_WRIST"]}}})";
  archive.write("meta", c10::IValue(meta));
  torch::serialize::OutputArchive model;
  model.write("conv1.weight", torch::zeros({64, 3, 7, 7}));
  model.write("bn1.running_mean", torch::zeros({64}), true);
  archive.write("model", model);
  archive.save_to(file);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("MURA_FUZZ_WRITE_SEED")) {
    write_seed(seed);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = mura::fuzz::as_file("input.ckpt", data, size);
  mura::fuzz::expect_checked("load_checkpoint", [&] { mura::weights::load_checkpoint(file); });
  return 0;
}
