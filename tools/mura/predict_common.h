#pragma once
/// What `mura predict` and `mura explain` share: their flags and how results are shown.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "console.h"
#include "mura/app/prediction.h"

namespace mura::cli {

struct PredictCli {
  std::vector<std::string> paths;
  std::string predict_image;  ///< the seed's --predict IMAGE
  app::PredictOptions options;
  std::string threshold;  ///< "" = the checkpoint's
  std::string csv;
  bool json = false;
  bool explain = false;      ///< explain: Grad-CAM pictures into options.gradcam_dir
  int dist_timeout_s = 300;  ///< --dist-timeout-s (launched with several processes)
  ConsoleOptions console;
};

/// The flags both take: --checkpoint, --threshold, the runtime, Grad-CAM method and alpha.
void add_predict_common_flags(CLI::App& sub, PredictCli& c);

/// Collects the inputs, runs the composition, prints a table (or JSON) on stdout.
int run_predict_cli(PredictCli& c);

/// --threshold of the commands that score without labels (predict, explain, serve): "" ->
/// -1 (the checkpoint's), else a number in (0, 1); mura::Error naming the flag otherwise.
double parse_predict_threshold(const std::string& text);

}  // namespace mura::cli
