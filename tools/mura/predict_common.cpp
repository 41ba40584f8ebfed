#include "predict_common.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "flags.h"
#include "mura/app/distributed.h"
#include "mura/data/input_files.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::cli {

namespace {

void write_csv(const std::string& path, const app::PredictResult& r) {
  std::ostringstream out;
  out << "path,body_part,study,probability,label,error\n";
  for (const auto& im : r.images) {
    char p[32];
    std::snprintf(p, sizeof p, "%.6f", im.probability);
    out << csv_escape(im.path) << "," << im.body_part << "," << csv_escape(im.study) << ","
        << (im.error.empty() ? p : "") << "," << (im.error.empty() ? std::to_string(im.label) : "")
        << "," << csv_escape(im.error) << "\n";
  }
  write_file_atomic(path, out.str());
}

void print_json(const app::PredictResult& r) {
  nlohmann::json j;
  j["threshold"] = r.threshold;
  j["threshold_origin"] = r.threshold_origin;
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
}

void print_table(const app::PredictResult& r, std::size_t failed, const std::string& gradcam_dir) {
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
  std::printf("threshold: %s\n", r.threshold_origin.c_str());
  if (!r.written.empty())
    std::printf("Grad-CAM: %zu files in %s\n", r.written.size(), gradcam_dir.c_str());
}

}  // namespace

double parse_predict_threshold(const std::string& text) {
  if (text.empty()) return -1;
  MURA_CHECK(to_lower(text) != "youden",
             "--threshold youden needs labels (evaluate chooses it); give a number in (0, 1)");
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MURA_CHECK(used == text.size() && v > 0 && v < 1,
             "--threshold: expected a number in (0, 1), got '" + text + "'");
  return v;
}

void add_predict_common_flags(CLI::App& sub, PredictCli& c) {
  sub.option_defaults()->always_capture_default();
  add_checkpoints_in_flag(sub, c.options.checkpoints);
  add_threshold_flag(sub, c.threshold);
  sub.get_option("--threshold")->default_str("the checkpoint's");
  add_batch_size_flag(sub, c.options.batch_size);
  add_dicom_window_flag(sub, c.options.dicom_window);
  add_runtime_flags(sub, c.options.runtime, {/*fold_batchnorm=*/true, /*deterministic=*/false});
  add_dist_timeout_flag(sub, c.dist_timeout_s);
  add_cam_flags(sub, c.options.method, c.options.alpha);
  add_console_flags(sub, c.console);
}

int run_predict_cli(PredictCli& c) {
  ConsoleSink console_sink(c.console);
  // Launched with several processes (torchrun, srun, mpirun): each scores a share of the
  // images; rank 0 writes the CSV and prints.
  const app::Launched launched =
      app::join_launched_group(c.dist_timeout_s, c.options.runtime.device);
  c.options.runtime.group = launched.group;
  RankZeroSink sink(console_sink, launched.group->rank());
  if (!c.predict_image.empty()) c.paths.push_back(c.predict_image);
  MURA_CHECK(!c.paths.empty(), "give at least one image, study folder or folder tree");
  c.options.threshold = parse_predict_threshold(c.threshold);
  std::vector<std::string> problems;
  const auto inputs = data::collect_input_images(c.paths, problems);
  for (const auto& p : problems) sink.warn(p);
  MURA_CHECK(!inputs.empty(), "no images to predict");
  const auto r = c.explain ? app::run_explanation(inputs, c.options, sink)
                           : app::run_prediction(inputs, c.options, sink);
  if (launched.group->rank() != 0) return 0;
  std::size_t failed = 0;
  for (const auto& im : r.images) failed += im.error.empty() ? 0 : 1;  // each one warned about
  if (!c.csv.empty()) write_csv(c.csv, r);
  if (c.json)
    print_json(r);
  else
    print_table(r, failed, c.options.gradcam_dir);
  return 0;
}

}  // namespace mura::cli
