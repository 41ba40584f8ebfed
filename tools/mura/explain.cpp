// mura explain: Grad-CAM pictures (original | heatmap | overlay, overlay, raw CAM) for images.
#include <memory>

#include "cli.h"
#include "flags.h"
#include "predict_common.h"

namespace mura::cli {

void add_explain_command(CLI::App& app, Runner& run) {
  auto c = std::make_shared<PredictCli>();
  c->explain = true;
  CLI::App* sub = app.add_subcommand(
      "explain", "Grad-CAM pictures (original | heatmap | overlay, overlay, raw CAM) for images");
  sub->add_option("paths", c->paths, "image files, study folders or folder trees")->required();
  add_predict_common_flags(*sub, *c);
  add_output_dir_flag(*sub, c->options.gradcam_dir, /*required=*/true);
  add_json_flag(*sub, c->json);
  sub->callback([c, &run] { run = [c] { return run_predict_cli(*c); }; });
}

}  // namespace mura::cli
