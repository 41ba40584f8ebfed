#include "mura/data/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "../test_util.h"
#include "mura/data/dataset.h"
#include "mura/data/image.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data {
namespace {
namespace fs = std::filesystem;

TEST(Synth, WritesAMuraLayoutThatIndexesCleanly) {
  test::TempDir tmp;
  SynthOptions o;
  o.out = tmp / "MURA-synth";
  o.patients = 40;
  const SynthSummary s = write_synthetic_dataset(o);
  const Dataset ds = index_dataset(tmp.path());
  EXPECT_EQ(ds.root_name, "MURA-synth");
  EXPECT_EQ(ds.images.size(), s.images);
  EXPECT_EQ(ds.studies.size(), s.studies);
  EXPECT_TRUE(ds.report.issues.empty());
  EXPECT_TRUE(ds.has_split(Split::Train));
  EXPECT_TRUE(ds.has_split(Split::Valid));
  std::size_t abnormal = 0;
  for (const auto& st : ds.studies) abnormal += st.label;
  EXPECT_EQ(abnormal, s.abnormal_studies);
  EXPECT_GT(abnormal, 0u);
  EXPECT_LT(abnormal, s.studies);
}

TEST(Synth, MixesGrayRgbAndSixteenBitPngsOfVaryingSizes) {
  test::TempDir tmp;
  SynthOptions o;
  o.out = tmp / "S";
  o.patients = 60;
  write_synthetic_dataset(o);
  const Dataset ds = index_dataset(o.out);
  std::set<int> types;
  std::set<std::pair<int, int>> sizes;
  for (const auto& r : ds.images) {
    const cv::Mat m = cv::imread(r.file.string(), cv::IMREAD_UNCHANGED);
    types.insert(m.type());
    sizes.insert({m.cols, m.rows});
    ASSERT_GE(std::min(m.cols, m.rows), o.min_side);
    ASSERT_LE(std::max(m.cols, m.rows), o.max_side);
  }
  EXPECT_TRUE(types.count(CV_8UC1));
  EXPECT_TRUE(types.count(CV_8UC3));
  EXPECT_TRUE(types.count(CV_16UC1));
  EXPECT_GT(sizes.size(), ds.images.size() / 2);
}

TEST(Synth, LesionBoxesLieInsideAbnormalImages) {
  test::TempDir tmp;
  SynthOptions o;
  o.out = tmp / "S";
  o.patients = 40;
  const SynthSummary s = write_synthetic_dataset(o);
  const Dataset ds = index_dataset(o.out);
  std::map<std::string, const ImageRecord*> by_path;
  for (const auto& r : ds.images) by_path[r.mura_path] = &r;
  std::ifstream in(o.out / "synth_lesions.csv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "image_path,x0,y0,x1,y1");
  std::size_t rows = 0;
  std::set<std::size_t> studies_with_lesion;
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    ASSERT_EQ(f.size(), 5u) << line;
    ASSERT_TRUE(by_path.count(f[0])) << f[0];
    const ImageRecord& r = *by_path[f[0]];
    EXPECT_EQ(r.label, 1) << "lesions only in abnormal studies";
    const cv::Mat m = load_gray(r.file);
    const int x0 = std::stoi(f[1]), y0 = std::stoi(f[2]), x1 = std::stoi(f[3]),
              y1 = std::stoi(f[4]);
    EXPECT_GE(x0, 0);
    EXPECT_GE(y0, 0);
    EXPECT_LE(x1, m.cols);
    EXPECT_LE(y1, m.rows);
    EXPECT_GT(x1 - x0, 4);
    EXPECT_GT(y1 - y0, 4);
    // the lesion ring is the brightest structure: its box holds near-white pixels
    double maxv = 0;
    cv::minMaxLoc(m(cv::Rect(x0, y0, x1 - x0, y1 - y0)), nullptr, &maxv);
    EXPECT_GT(maxv, 200) << f[0];
    studies_with_lesion.insert(r.study);
    ++rows;
  }
  EXPECT_EQ(rows, s.lesions);
  EXPECT_EQ(studies_with_lesion.size(), s.abnormal_studies) << "every abnormal study has a lesion";
}

// A CAM can only point at what it resolves: stretched to 224x224 as the loader does, a lesion
// box must span well over a cell of ResNet's 7x7 layer4 (32 px) along both axes, because a
// trained network's CAM can peak up to about a cell away from the object's centre (only
// boxes clipped by the image border may be smaller).
TEST(Synth, LesionBoxesSpanMoreThanOneAndAHalfCamCellsAfterTheStretchToASquare) {
  test::TempDir tmp;
  SynthOptions o;
  o.out = tmp / "S";
  o.patients = 80;
  o.lesion_rate = 1.0;
  write_synthetic_dataset(o);
  std::ifstream in(o.out / "synth_lesions.csv");
  std::string line;
  std::getline(in, line);
  int rows = 0, wide = 0;
  double smallest = 1e9;
  while (std::getline(in, line)) {
    const auto f = split(line, ',');
    ASSERT_EQ(f.size(), 5u) << line;
    const cv::Mat m = load_gray(tmp / f[0]);
    const double w = (std::stod(f[3]) - std::stod(f[1])) * 224 / m.cols;
    const double h = (std::stod(f[4]) - std::stod(f[2])) * 224 / m.rows;
    smallest = std::min({smallest, w, h});
    wide += w > 48 && h > 48;
    ++rows;
  }
  ASSERT_GT(rows, 50);
  std::printf(
      "%d of %d lesion boxes wider than 48 px along both axes at 224x224 (smallest side %.1f px)\n",
      wide, rows, smallest);
  EXPECT_GE(wide, rows * 9 / 10);
}

TEST(Synth, SameSeedSameDataSet) {
  test::TempDir tmp;
  SynthOptions o;
  o.patients = 12;
  o.out = tmp / "a";
  write_synthetic_dataset(o);
  o.out = tmp / "b";
  write_synthetic_dataset(o);
  // CSVs differ only by the root name
  auto strip = [](std::string s, const std::string& root) {
    std::string out;
    for (const auto& l : split(s, '\n'))
      out += l.substr(l.find('/') == std::string::npos ? 0 : root.size()) + "\n";
    return out;
  };
  EXPECT_EQ(strip(read_file(tmp / "a/train_labeled_studies.csv"), "a"),
            strip(read_file(tmp / "b/train_labeled_studies.csv"), "b"));
  EXPECT_EQ(strip(read_file(tmp / "a/train_image_paths.csv"), "a"),
            strip(read_file(tmp / "b/train_image_paths.csv"), "b"));
  const Dataset a = index_dataset(tmp / "a"), b = index_dataset(tmp / "b");
  ASSERT_EQ(a.images.size(), b.images.size());
  for (std::size_t i = 0; i < a.images.size(); ++i)
    EXPECT_EQ(read_file(a.images[i].file), read_file(b.images[i].file));
}

TEST(Synth, RefusesANonEmptyOutputFolderAndBadOptions) {
  test::TempDir tmp;
  test::write_text(tmp / "x/keep.txt", "precious");
  SynthOptions o;
  o.out = tmp / "x";
  EXPECT_ERROR_CONTAINS(write_synthetic_dataset(o), "exists and is not empty");
  EXPECT_TRUE(fs::exists(tmp / "x/keep.txt"));
  o.out = tmp / "y";
  o.patients = 1;
  EXPECT_THROW(write_synthetic_dataset(o), Error);
  o.patients = 10;
  o.min_side = 500;
  o.max_side = 100;
  EXPECT_THROW(write_synthetic_dataset(o), Error);
}

}  // namespace
}  // namespace mura::data
