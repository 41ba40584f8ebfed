// Compute-only training speed: how many images per second one optimizer step of `mura
// train` can process when the data costs nothing. Random input tensors [B,3,S,S] and random
// 0/1 labels are made once, before timing; each step is what the trainer does for a batch:
// forward, weighted binary cross-entropy with logits, zero_grad, backward, Adam step,
// loss.item(). After 3 warm-up steps, N steps are timed. This is the ceiling that the
// training loop's data pipeline overhead is measured against (bench/run_train_bench.sh).
//
//   mura_bench_train_step [--arch resnet18] [--img-size 128] [--batch-size 32]
//                         [--steps 20] [--warmup 3] [--threads 0] [--lr 1e-3] [--seed 1]
//                         [--precision fp32|bf16|auto] [--channels-last]
//
// --precision bf16 (or --amp) runs the forward pass under bf16 autocast and --channels-last
// converts model and batch, as `mura train` does by default on a CPU with native bf16.
// --threads 0 uses every core (std::thread::hardware_concurrency(), as `mura train --threads 0`
// does); the JSON line reports the count actually used. One JSON line on stdout:
//   {"impl":"mura","mode":"compute-only","arch":"resnet18",...,"images_per_s":...}
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "mura/models/optimize.h"
#include "mura/models/registry.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/torch_compat.h"

namespace {

struct Args {
  std::string arch = "resnet18";
  int img_size = 128;
  int batch_size = 32;
  int steps = 20;
  int warmup = 3;
  int threads = 0;
  double lr = 1e-3;
  std::uint64_t seed = 1;
  std::string precision = "fp32";  ///< as `mura train --precision` (auto|fp32|bf16)
  bool channels_last = false;
};

[[noreturn]] void usage(const std::string& why) {
  if (!why.empty()) std::cerr << "mura_bench_train_step: " << why << "\n";
  std::cerr << "usage: mura_bench_train_step [--arch resnet18] [--img-size 128] [--batch-size 32]\n"
               "                             [--steps 20] [--warmup 3] [--threads 0] [--lr 1e-3] "
               "[--seed 1]\n"
               "                             [--precision fp32|bf16|auto] [--amp (= --precision "
               "bf16)] [--channels-last]\n";
  std::exit(why.empty() ? 0 : 2);
}

long to_long(const std::string& flag, const std::string& v, long lo) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo)
    usage(flag + ": expected an integer >= " + std::to_string(lo) + ", got '" + v + "'");
  return x;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") usage("");
    if (flag == "--amp") {
      a.precision = "bf16";
      continue;
    }
    if (flag == "--channels-last") {
      a.channels_last = true;
      continue;
    }
    std::string value;
    const auto eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage(flag + " needs a value");
      value = argv[++i];
    }
    if (flag == "--arch" || flag == "--model")
      a.arch = value;
    else if (flag == "--img-size" || flag == "--img_size" || flag == "--size")
      a.img_size = static_cast<int>(to_long(flag, value, 32));
    else if (flag == "--batch-size" || flag == "--batch_size")
      a.batch_size = static_cast<int>(to_long(flag, value, 2));
    else if (flag == "--steps")
      a.steps = static_cast<int>(to_long(flag, value, 1));
    else if (flag == "--warmup")
      a.warmup = static_cast<int>(to_long(flag, value, 0));
    else if (flag == "--threads")
      a.threads = static_cast<int>(to_long(flag, value, 0));
    else if (flag == "--precision")
      a.precision = value;
    else if (flag == "--seed")
      a.seed = static_cast<std::uint64_t>(to_long(flag, value, 0));
    else if (flag == "--lr") {
      char* end = nullptr;
      a.lr = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(a.lr > 0))
        usage("--lr: expected a positive number, got '" + value + "'");
    } else {
      usage("unknown flag " + flag);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    torch::set_num_threads(
        a.threads > 0 ? a.threads
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    torch::manual_seed(a.seed);
    const auto precision = mura::resolve_precision(a.precision, torch::kCPU).precision;
    const bool amp = mura::uses_autocast(precision);
    auto model = mura::models::create_model(a.arch, 1);
    model->train();
    if (a.channels_last) mura::models::to_channels_last(*model);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(a.lr));

    auto x = torch::randn({a.batch_size, 3, a.img_size, a.img_size});
    if (a.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    const auto y = torch::randint(0, 2, {a.batch_size}).to(torch::kFloat32);
    // The MURA paper's weights have this shape: w1 on abnormal, w0 on normal images.
    const auto w = torch::where(y > 0.5, torch::full_like(y, 0.6), torch::full_like(y, 0.4));

    double loss_sum = 0;
    auto step = [&] {
      torch::Tensor logits;
      {
        mura::compat::AutocastGuard autocast(torch::kCPU, torch::kBFloat16, amp);
        logits = model->forward(x);
      }
      const auto loss =
          torch::binary_cross_entropy_with_logits(logits.to(torch::kFloat32).select(1, 0), y, w);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
    };
    for (int i = 0; i < a.warmup; ++i) step();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.steps; ++i) step();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double images = static_cast<double>(a.steps) * a.batch_size;
    std::printf(
        "{\"impl\":\"mura\",\"mode\":\"compute-only\",\"arch\":\"%s\",\"img_size\":%d,"
        "\"batch_size\":%d,\"steps\":%d,\"warmup\":%d,\"threads\":%d,\"precision\":\"%s\","
        "\"channels_last\":%s,\"seconds\":%.4f,"
        "\"s_per_step\":%.4f,\"images_per_s\":%.1f,\"mean_loss\":%.4f}\n",
        model->arch().c_str(), a.img_size, a.batch_size, a.steps, a.warmup,
        torch::get_num_threads(), mura::precision_name(precision),
        a.channels_last ? "true" : "false", secs, secs / a.steps, images / secs,
        loss_sum / (a.warmup + a.steps));
  } catch (const mura::Error& e) {
    std::cerr << "mura_bench_train_step: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mura_bench_train_step: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
