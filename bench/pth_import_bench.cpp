// Import speed of torchvision .pth files: read_pth + load into the model, in seconds, for
// files in the zip and the legacy format. Prints one JSON line per measurement.
//
//   mura_bench_pth_import FILE.pth [ARCH] [REPEATS]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/weights/torchvision.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mura_bench_pth_import FILE.pth [ARCH] [REPEATS]\n";
    return 2;
  }
  const std::string file = argv[1];
  const std::string arch = argc > 2 ? argv[2] : "resnet50";
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
  try {
    auto model = mura::models::create_model(arch, 1000);
    double best_read = 1e9, best_total = 1e9;
    std::size_t tensors = 0;
    const char* format = "?";
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto pth = mura::weights::read_pth(file);
      const auto t1 = std::chrono::steady_clock::now();
      mura::weights::load_state_dict(*model, pth.tensors, file);
      const auto t2 = std::chrono::steady_clock::now();
      best_read = std::min(best_read, std::chrono::duration<double>(t1 - t0).count());
      best_total = std::min(best_total, std::chrono::duration<double>(t2 - t0).count());
      tensors = pth.tensors.size();
      format = pth.format == mura::weights::PthFormat::Zip ? "zip" : "legacy";
    }
    std::printf(
        "{\"impl\":\"mura\",\"file\":\"%s\",\"format\":\"%s\",\"arch\":\"%s\",\"tensors\":%zu,"
        "\"read_s\":%.4f,\"read_and_load_s\":%.4f}\n",
        file.c_str(), format, arch.c_str(), tensors, best_read, best_total);
  } catch (const mura::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
