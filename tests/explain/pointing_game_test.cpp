// Grad-CAM is right, not only similar: a model trained by mura's trainer on `mura synth`
// data points at the lesion. The CAM maximum, mapped back to the original image as
// `mura predict --gradcam` maps it (cam_to_image), must lie inside the lesion box that synth
// wrote for >= 80% of the abnormal validation images that show a lesion (the "pointing
// game"). Baselines show that the figure means something: the same CAM mirrored left-right,
// the image centre, and a uniformly random point (its expected score is the boxes' mean
// share of the image). For reference the test also prints the score of a plain resize of
// the CAM, which puts ResNet's cell j at 32 j + 15.5 of the 224 px input where the cell
// looks at 32 j: with that mapping (and lesions narrower than a cell) this test once scored
// 10 of 24 (41.7%).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../test_util.h"
#include "mura/app/training.h"
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

struct Lesion {
  fs::path file;
  int x0, y0, x1, y1;
  bool contains(const cv::Point& p) const { return p.x >= x0 && p.x < x1 && p.y >= y0 && p.y < y1; }
};

cv::Point argmax(const cv::Mat& m) {
  cv::Point at;
  cv::minMaxLoc(m, nullptr, nullptr, nullptr, &at);
  return at;
}

TEST(PointingGame, GradCamOfATrainedModelPointsAtTheSyntheticLesions) {
  const auto start = std::chrono::steady_clock::now();
  test::TempDir tmp;
  data::SynthOptions s;
  s.out = tmp / "MURA-synth";
  s.patients = 240;
  s.valid_fraction =
      0.4;  // validation images are cheap (no training): more of them, a steadier figure
  s.seed = 12;
  s.min_side = 160;
  s.max_side = 256;
  data::write_synthetic_dataset(s);

  train::TrainOptions o;
  o.data_dir = s.out.string();
  o.output_dir = (tmp / "run").string();
  o.model = "resnet18";
  o.image_size =
      224;  // layer4 is 7x7: a cell is 32 px of the resized image, the lesion boxes 60-100
  o.batch_size = 16;
  o.epochs = 5;  // ~125 steps
  o.lr = 1e-3;
  // Annealed to the end, and the last weights explained: on data this easy the validation
  // AUROC and loss level out within an epoch or two, so a "best" checkpoint can be one from
  // before the model has settled where it looks.
  o.scheduler = "cosine";
  o.cache = "memory";
  o.val_source = "valid";
  o.seed = 2;
  o.runtime.threads = torch::get_num_threads();  // every core, unless OMP_NUM_THREADS says fewer
  train::stop_requested() = false;
  const auto r = app::run_training(o);
  const auto ckpt = weights::load_checkpoint(r.last_checkpoint);
  ASSERT_FALSE(r.history.empty());
  const double auc = r.history.back().study_auc;
  const double train_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<Lesion> lesions;
  {
    std::ifstream in(s.out / "synth_lesions.csv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      const auto f = split(line, ',');
      ASSERT_EQ(f.size(), 5u) << line;
      if (f[0].find("/valid/") == std::string::npos) continue;
      lesions.push_back(
          {tmp / f[0], std::stoi(f[1]), std::stoi(f[2]), std::stoi(f[3]), std::stoi(f[4])});
    }
  }
  ASSERT_GE(lesions.size(), 40u);

  const int size = ckpt.spec.image_size;
  auto tf = data::TransformOptions::evaluation(size);
  tf.mean = ckpt.spec.mean;
  tf.std = ckpt.spec.std;
  int hits = 0, mirror_hits = 0, centre_hits = 0, plain_resize_hits = 0;
  double chance = 0;
  const std::size_t batch = 16;
  for (std::size_t b0 = 0; b0 < lesions.size(); b0 += batch) {
    const std::size_t n = std::min(batch, lesions.size() - b0);
    auto x = torch::empty({static_cast<int64_t>(n), 3, size, size});
    std::vector<cv::Mat> grays;
    for (std::size_t k = 0; k < n; ++k) {
      grays.push_back(data::load_gray(lesions[b0 + k].file));
      data::normalize_into(data::resize_square(grays.back(), size), tf,
                           x[static_cast<int64_t>(k)].data_ptr<float>());
    }
    const auto cams = compute_cam(*ckpt.model, x, CamMethod::GradCam);
    for (std::size_t k = 0; k < n; ++k) {
      const Lesion& l = lesions[b0 + k];
      const int w = grays[k].cols, h = grays[k].rows;
      const torch::Tensor cam = cams.cams[static_cast<int64_t>(k)].contiguous();
      const cv::Mat full = cam_to_image(cam, cams.geometry, w, h);
      hits += l.contains(argmax(full));
      cv::Mat mirrored;
      cv::flip(full, mirrored, 1);
      mirror_hits += l.contains(argmax(mirrored));
      centre_hits += l.contains(cv::Point(w / 2, h / 2));
      const cv::Mat small(static_cast<int>(cam.size(0)), static_cast<int>(cam.size(1)), CV_32F,
                          const_cast<float*>(cam.data_ptr<float>()));
      cv::Mat plain;
      cv::resize(small, plain, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
      plain_resize_hits += l.contains(argmax(plain));
      chance += static_cast<double>(l.x1 - l.x0) * (l.y1 - l.y0) / (static_cast<double>(w) * h);
    }
  }
  const int total = static_cast<int>(lesions.size());
  auto pct = [total](int k) { return 100.0 * k / total; };
  chance /= total;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "model: %s %d px, %lld steps, validation study AUROC %.3f (training %.0f s, all %.0f s)\n",
      o.model.c_str(), size, static_cast<long long>(r.steps), auc, train_s, seconds);
  std::printf(
      "pointing game: %d/%d = %.1f%% (the CAM maximum inside the lesion box, abnormal valid images "
      "with a lesion)\n",
      hits, total, pct(hits));
  std::printf(
      "baselines: the CAM mirrored left-right %d/%d = %.1f%%; the image centre %d/%d = %.1f%%; "
      "a random point %.1f%% (expected)\n",
      mirror_hits, total, pct(mirror_hits), centre_hits, total, pct(centre_hits), 100 * chance);
  std::printf("for reference, a plain resize of the CAM (cell j at 32 j + 15.5): %d/%d = %.1f%%\n",
              plain_resize_hits, total, pct(plain_resize_hits));
  EXPECT_GE(auc, 0.9) << "the model must have learned the task for its CAM to mean anything";
  EXPECT_GE(pct(hits), 80.0);
  // Where the CAM peaks must matter: scrambled (mirrored) or replaced by a fixed or random
  // guess, the same game scores far lower.
  EXPECT_GE(pct(hits) - pct(mirror_hits), 30.0);
  EXPECT_GE(pct(hits) - pct(centre_hits), 30.0);
  EXPECT_LE(chance, 0.2);
}

}  // namespace
}  // namespace mura::explain
