// Grad-CAM is right, not only similar: a model trained by mura's trainer on `mura synth`
// data points at the lesion. The CAM maximum (mapped back to the original image) must lie
// inside the lesion box that synth wrote for >= 80% of the abnormal validation images that
// show a lesion (the "pointing game").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <opencv2/core.hpp>

#include "../test_util.h"
#include "mura/data/image.h"
#include "mura/data/synth.h"
#include "mura/data/transforms.h"
#include "mura/explain/gradcam.h"
#include "mura/explain/render.h"
#include "mura/train/trainer.h"
#include "mura/util/strings.h"
#include "mura/weights/checkpoint.h"

namespace mura::explain {
namespace {
namespace fs = std::filesystem;

TEST(PointingGame, GradCamOfATrainedModelPointsAtTheSyntheticLesions) {
  test::TempDir tmp;
  data::SynthOptions s;
  s.out = tmp / "MURA-synth";
  s.patients = 160;
  s.seed = 11;
  s.min_side = 160;
  s.max_side = 256;
  data::write_synthetic_dataset(s);

  train::TrainOptions o;
  o.data_dir = s.out.string();
  o.output_dir = (tmp / "run").string();
  o.model = "resnet18";
  o.image_size = 224;  // ResNet's layer4 is 7x7 here: its cells are finer than the lesions
  o.batch_size = 16;
  o.epochs = 30;
  o.max_steps = 160;
  o.lr = 1e-3;
  o.scheduler = "none";
  o.cache = "memory";
  o.val_source = "valid";
  o.progress = false;
  o.seed = 1;
  train::stop_requested() = false;
  const auto r = train::train(o);
  const auto ckpt = weights::load_checkpoint(r.best_checkpoint);

  std::ifstream in(s.out / "synth_lesions.csv");
  std::string line;
  std::getline(in, line);
  int hits = 0, total = 0;
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    if (f[0].find("/valid/") == std::string::npos) continue;
    const fs::path file = tmp / f[0];
    const cv::Mat gray = data::load_gray(file);
    const auto tf = data::TransformOptions::evaluation(224);
    auto x = torch::empty({1, 3, 224, 224});
    data::normalize_into(data::resize_square(gray, 224), tf, x.data_ptr<float>());
    const auto cam = compute_cam(*ckpt.model, x, CamMethod::GradCam);
    const cv::Mat full = cam_to_size(cam.cams[0], gray.cols, gray.rows);
    cv::Point at;
    cv::minMaxLoc(full, nullptr, nullptr, nullptr, &at);
    const int x0 = std::stoi(f[1]), y0 = std::stoi(f[2]), x1 = std::stoi(f[3]), y1 = std::stoi(f[4]);
    hits += at.x >= x0 && at.x < x1 && at.y >= y0 && at.y < y1;
    ++total;
  }
  ASSERT_GT(total, 10);
  const double rate = static_cast<double>(hits) / total;
  std::printf("pointing game: the CAM maximum is inside the lesion box for %d of %d abnormal valid images "
              "with a lesion (%.1f%%)\n",
              hits, total, 100 * rate);
  EXPECT_GE(rate, 0.80);
}

}  // namespace
}  // namespace mura::explain
