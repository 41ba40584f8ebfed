// `mura predict` and `mura explain` on every input kind, with unreadable files among good
// ones, and the files they write.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../test_util.h"
#include "mura/util/atomic_file.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::run_mura;

using test::contains;

class PredictCli : public ::testing::Test {
 protected:
  // The data and a 1-epoch model are made once for all of this suite's processes
  // (test::shared_fixture) and only read; what the tests write goes to dir_.
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fixture_ = new fs::path(test::shared_fixture("predict_cli", [](const fs::path& d) {
      auto r = run_mura("synth --output-dir '" + (d / "MURA-synth").string() +
                        "' --patients 16 --seed 3 --min-size 64 --max-size 96");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("train --data-dir '" + (d / "MURA-synth").string() +
                   "' --model resnet18 --img-size 32 --batch-size 8 --epochs 1 " +
                   "--val-source valid --no-progress --output-dir '" + (d / "run").string() + "'");
      ASSERT_EQ(r.exit_code, 0) << r.out;
    }));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete fixture_;
  }
  static std::string data() { return (*fixture_ / "MURA-synth").string(); }
  static std::string ckpt() { return (*fixture_ / "run/best.ckpt").string(); }
  static fs::path first_study() {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(data()) / "valid"))
      if (e.is_directory() && e.path().filename().string().rfind("study", 0) == 0) return e.path();
    return {};
  }
  static test::TempDir* dir_;
  static fs::path* fixture_;
};
test::TempDir* PredictCli::dir_ = nullptr;
fs::path* PredictCli::fixture_ = nullptr;

TEST_F(PredictCli, OneImageWithTheSeedsFlag) {
  const fs::path img = first_study() / "image1.png";
  const auto r = run_mura("predict --checkpoint '" + ckpt() + "' --predict '" + img.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, img.string())) << r.out;
  EXPECT_TRUE(contains(r.out, "1 image(s), 1 study")) << r.out;
  EXPECT_TRUE(contains(r.out, "XR_")) << "the body part comes from the path: " << r.out;
}

TEST_F(PredictCli, AStudyFolderGivesOneStudyRow) {
  const fs::path study = first_study();
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(study)) n += e.path().extension() == ".png";
  const auto r = run_mura("predict '" + study.string() + "' --checkpoint '" + ckpt() + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"].size(), n);
  ASSERT_EQ(j["studies"].size(), 1u);
  EXPECT_EQ(j["studies"][0]["n_images"], n);
  double mean = 0;
  for (const auto& im : j["images"]) mean += im["probability"].get<double>();
  EXPECT_NEAR(j["studies"][0]["probability"].get<double>(), mean / n, 1e-9)
      << "study = mean of its images";
}

TEST_F(PredictCli, AFolderTreeCoversEveryImageAndWritesCsv) {
  const std::string csv = (dir_->path() / "pred.csv").string();
  const auto r = run_mura("predict '" + data() + "' --checkpoint '" + ckpt() + "' --csv '" + csv +
                          "' --batch-size 5");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::size_t images = 0;
  for (const auto& e : fs::recursive_directory_iterator(data()))
    images += e.path().extension() == ".png";
  std::ifstream in(csv);
  std::string line;
  std::size_t rows = 0;
  std::getline(in, line);
  EXPECT_EQ(line, "path,body_part,study,probability,label,error");
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, images);
}

TEST_F(PredictCli, UnreadableFilesAreReportedAndTheRestPredicted) {
  const fs::path mixed = dir_->path() / "mixed";
  fs::create_directories(mixed);
  fs::copy_file(first_study() / "image1.png", mixed / "good1.png");
  fs::copy_file(first_study() / "image1.png", mixed / "good2.png");
  test::write_text(mixed / "broken.png", "not a png at all");
  const std::string bytes = read_file(first_study() / "image1.png");
  test::write_text(mixed / "truncated.png", bytes.substr(0, bytes.size() / 2));
  const auto r = run_mura("predict '" + mixed.string() + "' --checkpoint '" + ckpt() + "' --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  int ok = 0, bad = 0;
  for (const auto& im : j["images"]) {
    if (im.contains("error")) {
      ++bad;
      EXPECT_TRUE(contains(im["error"].get<std::string>(), im["path"].get<std::string>())) << im;
    } else {
      ++ok;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(bad, 2);
  const auto t = run_mura("predict '" + mixed.string() + "' --checkpoint '" + ckpt() + "'");
  EXPECT_EQ(t.exit_code, 0);
  EXPECT_TRUE(contains(t.out, "2 unreadable")) << t.out;
  EXPECT_TRUE(contains(t.out, "truncated PNG")) << t.out;
}

TEST_F(PredictCli, MissingPathsAndNoImagesAreErrors) {
  auto r = run_mura("predict /no/such/file.png --checkpoint '" + ckpt() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "/no/such/file.png: no such file or folder")) << r.out;
  r = run_mura("predict '" + first_study().string() + "' /no/such/dir --checkpoint '" + ckpt() +
               "'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "/no/such/dir: no such file or folder")) << r.out;
  r = run_mura("predict '" + first_study().string() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--checkpoint")) << r.out;
}

TEST_F(PredictCli, ExplainWritesPanelsOverlayAndRawCamAtTheOriginalSize) {
  const fs::path img = first_study() / "image1.png";
  const cv::Mat original = cv::imread(img.string(), cv::IMREAD_UNCHANGED);
  const fs::path out = dir_->path() / "cams";
  for (const char* method : {"gradcam", "gradcam++"}) {
    const auto r = run_mura("explain '" + img.string() + "' --checkpoint '" + ckpt() +
                            "' --output-dir '" + out.string() + "' --method " + method);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  const std::string stem = (out / (first_study().filename().string() + "_image1")).string();
  const cv::Mat panels = cv::imread(stem + "_panels.png", cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(panels.empty());
  EXPECT_EQ(panels.rows, 512);
  EXPECT_NEAR(panels.cols, 3 * std::lround(512.0 * original.cols / original.rows), 3);
  EXPECT_EQ(panels.channels(), 3);
  const cv::Mat over = cv::imread(stem + "_overlay.png", cv::IMREAD_UNCHANGED);
  EXPECT_EQ(over.cols, original.cols) << "the overlay keeps the original size and aspect";
  EXPECT_EQ(over.rows, original.rows);
  const cv::Mat cam16 = cv::imread(stem + "_cam16.png", cv::IMREAD_UNCHANGED);
  EXPECT_EQ(cam16.type(), CV_16UC1);
  EXPECT_EQ(cam16.size(), original.size());
  double lo = 0, hi = 0;
  cv::minMaxLoc(cam16, &lo, &hi);
  EXPECT_LE(hi, 65535);
  const std::string npy = read_file(stem + "_cam.npy");
  ASSERT_GT(npy.size(), 128u);
  EXPECT_EQ(npy.substr(0, 6), "\x93NUMPY");
  EXPECT_TRUE(contains(npy.substr(0, 128), "'descr': '<f4'")) << npy.substr(0, 128);
  EXPECT_TRUE(contains(npy.substr(0, 128), "'shape': (1, 1)"))
      << "32 px input, ResNet /32: " << npy.substr(0, 128);
}

}  // namespace
}  // namespace mura
