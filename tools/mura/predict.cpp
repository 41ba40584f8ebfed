// mura predict: probabilities for images, studies and folder trees (optionally with
// Grad-CAM pictures).
#include <memory>

#include "cli.h"
#include "flags.h"
#include "predict_common.h"

namespace mura::cli {

void add_predict_command(CLI::App& app, Runner& run) {
  auto c = std::make_shared<PredictCli>();
  CLI::App* sub =
      app.add_subcommand("predict", "probabilities for images, study folders or folder trees");
  sub->add_option("paths", c->paths, "image files, study folders or folder trees");
  sub->add_option("--predict", c->predict_image, "one image (the seed's spelling)");
  add_predict_common_flags(*sub, *c);
  add_tta_flag(*sub, c->options.tta_flip);
  sub->add_option("--csv", c->csv, "also write the per-image results to this CSV");
  add_json_flag(*sub, c->json);
  add_gradcam_dir_flag(*sub, c->options.gradcam_dir);
  sub->callback([c, &run] { run = [c] { return run_predict_cli(*c); }; });
}

}  // namespace mura::cli
