// mura predict / mura explain: probabilities for images, studies and folder trees, with
// Grad-CAM pictures.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "mura/explain/predict.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::cli {

namespace {

struct PredictCli {
  std::vector<std::string> paths;
  std::string predict_image;  // the seed's --predict IMAGE
  explain::PredictOptions options;
  std::string tta = "none";
  std::string method = "gradcam";
  std::string csv;
  bool json = false;
};

int run_predict(PredictCli& c) {
  if (!c.predict_image.empty()) c.paths.push_back(c.predict_image);
  if (c.paths.empty()) throw Error("give at least one image, study folder or folder tree");
  c.options.tta_flip = c.tta == "flip";
  c.options.method = explain::parse_cam_method(c.method);
  std::vector<std::string> problems;
  const auto inputs = explain::collect_inputs(c.paths, problems);
  for (const auto& p : problems) std::cerr << "mura: " << p << "\n";
  if (inputs.empty()) throw Error("no images to predict");
  const auto r = explain::predict(inputs, c.options);
  std::size_t failed = 0;
  for (const auto& im : r.images)
    if (!im.error.empty()) {
      ++failed;
      std::cerr << "mura: skipped " << im.error << "\n";
    }

  if (!c.csv.empty()) {
    std::ostringstream out;
    out << "path,body_part,study,probability,label,error\n";
    for (const auto& im : r.images) {
      char p[32];
      std::snprintf(p, sizeof p, "%.6f", im.probability);
      out << csv_escape(im.path) << "," << im.body_part << "," << csv_escape(im.study) << ","
          << (im.error.empty() ? p : "") << "," << (im.error.empty() ? std::to_string(im.label) : "") << ","
          << csv_escape(im.error) << "\n";
    }
    write_file_atomic(c.csv, out.str());
  }
  if (c.json) {
    nlohmann::json j;
    j["threshold"] = r.threshold;
    for (const auto& im : r.images) {
      nlohmann::json e = {{"path", im.path}, {"body_part", im.body_part}, {"study", im.study}};
      if (im.error.empty()) {
        e["probability"] = im.probability;
        e["label"] = im.label;
      } else {
        e["error"] = im.error;
      }
      j["images"].push_back(e);
    }
    for (const auto& s : r.studies)
      j["studies"].push_back({{"study", s.study},
                              {"body_part", s.body_part},
                              {"probability", s.probability},
                              {"label", s.label},
                              {"n_images", s.n_images}});
    j["written"] = r.written;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%-8s %9s  %-12s %s\n", "verdict", "P(abn)", "body part", "image");
  for (const auto& im : r.images) {
    if (!im.error.empty()) {
      std::printf("%-8s %9s  %-12s %s\n", "ERROR", "-", im.body_part.c_str(), im.path.c_str());
      continue;
    }
    std::printf("%-8s %9.4f  %-12s %s\n", im.label ? "ABNORMAL" : "normal", im.probability,
                im.body_part.c_str(), im.path.c_str());
  }
  std::printf("\n%-8s %9s  %-12s %6s  %s\n", "verdict", "P(abn)", "body part", "images", "study");
  for (const auto& s : r.studies)
    std::printf("%-8s %9.4f  %-12s %6zu  %s\n", s.label ? "ABNORMAL" : "normal", s.probability,
                s.body_part.c_str(), s.n_images, s.study.c_str());
  std::printf("\n%zu image(s), %zu stud%s, threshold %.3f%s\n", r.images.size(), r.studies.size(),
              r.studies.size() == 1 ? "y" : "ies", r.threshold,
              failed ? (", " + std::to_string(failed) + " unreadable").c_str() : "");
  if (!r.written.empty())
    std::printf("Grad-CAM: %zu files in %s\n", r.written.size(), c.options.gradcam_dir.c_str());
  return 0;
}

void add_common(CLI::App* sub, PredictCli& c) {
  sub->option_defaults()->always_capture_default();
  sub->add_option("--checkpoint,--checkpoint_path,--checkpoint-path,--load-checkpoint,--load_checkpoint",
                  c.options.checkpoints, "mura checkpoint; repeat for an ensemble (mean probability)")
      ->required()
      ->take_all();
  sub->add_option("--threshold", c.options.threshold, "decision threshold (default: the checkpoint's)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--device", c.options.device)->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub->add_option("--batch-size,--batch_size", c.options.batch_size)->check(CLI::Range(1, 4096));
  add_thread_flags(*sub, c.options.workers, c.options.threads);
  add_precision_flags(*sub, c.options.precision, c.options.channels_last);
  sub->add_flag("--fold-bn,!--no-fold-bn", c.options.fold_batchnorm,
                "fold BatchNorm into the convolutions before inference");
  sub->add_option("--method", c.method, "Grad-CAM method: gradcam or gradcam++")
      ->check(CLI::IsMember({"gradcam", "gradcam++"}));
  sub->add_option("--alpha", c.options.alpha, "heatmap weight in the overlay")->check(CLI::Range(0.0, 1.0));
}

}  // namespace

void add_predict_command(CLI::App& app, Runner& run) {
  auto c = std::make_shared<PredictCli>();
  CLI::App* sub = app.add_subcommand("predict", "probabilities for images, study folders or folder trees");
  sub->add_option("paths", c->paths, "image files, study folders or folder trees");
  sub->add_option("--predict", c->predict_image, "one image (the seed's spelling)");
  add_common(sub, *c);
  sub->add_option("--tta", c->tta, "test-time augmentation: none or flip")->check(CLI::IsMember({"none", "flip"}));
  sub->add_option("--csv", c->csv, "also write the per-image results to this CSV");
  sub->add_flag("--json", c->json, "print JSON instead of a table");
  sub->add_option("--gradcam", c->options.gradcam_dir, "also write Grad-CAM pictures into this folder");
  sub->callback([c, &run] { run = [c] { return run_predict(*c); }; });
}

void add_explain_command(CLI::App& app, Runner& run) {
  auto c = std::make_shared<PredictCli>();
  auto out = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "explain", "Grad-CAM pictures (original | heatmap | overlay, overlay, raw CAM) for images");
  sub->add_option("paths", c->paths, "image files, study folders or folder trees")->required();
  add_common(sub, *c);
  sub->add_option("--out,--output-dir,--output_dir", *out, "folder for the pictures")->required();
  sub->callback([c, out, &run] {
    run = [c, out] {
      c->options.gradcam_dir = *out;
      return run_predict(*c);
    };
  });
}

}  // namespace mura::cli
