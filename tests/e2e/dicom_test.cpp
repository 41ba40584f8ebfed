// DICOM against independent references: pydicom's real test files and files made at test
// time from ../shared/data, rendered by mura and by tests/reference/dicom_reference.py
// (pydicom + numpy, the standard's steps) and DCMTK's dcm2pnm; grouping into studies; bad
// files; no patient data in anything mura prints or writes. The fixture writes
// MURA_DICOM_DIR/manifest.json.
#include "mura/data/dicom.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <sstream>

#include "../test_util.h"
#include "mura/data/dicom_tree.h"
#include "mura/data/image.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

json manifest() {
  const fs::path m = fs::path(MURA_DICOM_DIR) / "manifest.json";
  if (!fs::exists(m)) return json();
  return json::parse(read_file(m));
}

double max_diff(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size()) return 1e9;
  return cv::norm(a, b, cv::NORM_INF);
}

cv::Mat ref_png(const std::string& p) {
  return cv::imread(p, cv::IMREAD_GRAYSCALE);
}

TEST(DicomReference, PydicomTestFilesMatchPydicomAndDcmtkWithinOneLevel) {
  const json m = manifest();
  ASSERT_FALSE(m.is_null()) << "the dicom fixture did not run";
  std::size_t compared = 0, dcmtk = 0;
  for (const auto& e : m["pydicom"]) {
    const std::string file = e["file"];
    if (e.contains("skip")) {
      ADD_FAILURE() << file << ": "
                    << e["skip"].get<std::string>();  // every listed file must be checked
      continue;
    }
    const cv::Mat mine = data::load_gray(file);
    if (e.contains("known_gdcm_bug")) {
      std::cout << "[ KNOWN    ] " << file << ": " << e["known_gdcm_bug"].get<std::string>()
                << ", diff " << max_diff(mine, ref_png(e["ref"])) << " (not compared)\n";
      continue;
    }
    EXPECT_LE(max_diff(mine, ref_png(e["ref"])), e["tolerance"].get<double>())
        << file << " (" << e["what"].get<std::string>() << ") vs pydicom";
    ++compared;
    if (!e["dcmtk"].is_null()) {
      EXPECT_LE(max_diff(mine, ref_png(e["dcmtk"])), e["dcmtk_tolerance"].get<double>())
          << file << " vs DCMTK dcm2pnm";
      ++dcmtk;
    }
  }
  EXPECT_GE(compared, 19u);
  EXPECT_GE(dcmtk, 15u);
}

TEST(DicomReference, GeneratedEncodingsOfASharedRadiographMatch) {
  const json m = manifest();
  if (m.contains("generated_skip")) GTEST_SKIP() << m["generated_skip"].get<std::string>();
  ASSERT_TRUE(m.contains("generated"));
  if (m.contains("generated_failed"))
    ADD_FAILURE() << "encodings gdcmconv could not write: " << m["generated_failed"].dump();
  const cv::Mat source = ref_png(fs::path(MURA_DICOM_DIR) / "generated" / "source.png");
  for (const auto& [enc, e] : m["generated"].items()) {
    ASSERT_FALSE(e.contains("skip")) << enc << ": " << e["skip"].get<std::string>();
    const cv::Mat mine = data::load_gray(e["file"].get<std::string>());
    EXPECT_LE(max_diff(mine, ref_png(e["ref"])), 1.0) << enc << " vs the pydicom reference";
    // MONOCHROME1, 12 bits in 16 with high garbage, rescale and the first window were made to
    // give the source PNG back: unmasked bits or a missed inversion would show here.
    if (!e["lossy"].get<bool>()) {
      EXPECT_LE(max_diff(mine, source), 1.0) << enc << " vs the PNG it was made from";
    }
    if (e.contains("ref_narrow")) {
      data::DecodeOptions o;
      o.dicom_window = "NARROW";
      EXPECT_LE(
          max_diff(data::load_gray(e["file"].get<std::string>(), o), ref_png(e["ref_narrow"])), 1.0)
          << enc << " with --dicom-window NARROW";
      o.dicom_window = "2";
      EXPECT_LE(
          max_diff(data::load_gray(e["file"].get<std::string>(), o), ref_png(e["ref_narrow"])), 1.0)
          << enc << " with --dicom-window 2";
    }
  }
  EXPECT_GE(m["generated"].size(), 10u);
}

TEST(DicomTree, ThreeCrViewsInThreeSeriesAreOneStudy) {
  const json m = manifest();
  const fs::path dir =
      fs::path(m["pydicom"][0]["file"].get<std::string>()).parent_path().parent_path();
  data::IndexOptions o;
  o.dicom.require_labels = false;
  const data::Dataset ds = data::index_dataset(dir, o);
  ASSERT_TRUE(ds.dicom_tree);
  std::size_t cr_study = SIZE_MAX;
  for (std::size_t i = 0; i < ds.images.size(); ++i)
    if (ds.images[i].file.parent_path().filename() == "CR1") cr_study = ds.images[i].study;
  ASSERT_NE(cr_study, SIZE_MAX);
  std::set<std::string> series;
  for (std::size_t i : ds.studies[cr_study].images)
    series.insert(ds.images[i].file.parent_path().filename().string());
  EXPECT_EQ(series, (std::set<std::string>{"CR1", "CR2", "CR3"}));
}

TEST(DicomTree, AStudyOfTwoSeriesIsOneStudy) {
  const json m = manifest();
  if (!m.contains("generated")) GTEST_SKIP() << "no generated files (see the fixture's manifest)";
  const std::string uid = m["generated_study"];
  test::TempDir tmp;
  test::write_text(tmp / "labels.csv", uid + ",1\n");
  data::IndexOptions o;
  o.dicom.labels = tmp / "labels.csv";
  o.dicom.split = data::Split::Valid;
  const data::Dataset ds = data::index_dataset(fs::path(MURA_DICOM_DIR) / "generated", o);
  ASSERT_EQ(ds.studies.size(), 1u);
  EXPECT_EQ(ds.studies[0].mura_path, uid);
  EXPECT_EQ(ds.studies[0].label, 1);
  EXPECT_EQ(ds.studies[0].body_part, "XR_WRIST");
  EXPECT_EQ(ds.studies[0].images.size(), m["generated"].size());
  EXPECT_EQ(ds.studies[0].patient_id, "patient00001");
  o.dicom.pseudonymize = true;
  o.dicom.pseudonym_key = "a key of sixteen bytes or more";
  const data::Dataset ps = data::index_dataset(fs::path(MURA_DICOM_DIR) / "generated", o);
  EXPECT_EQ(ps.studies[0].mura_path.rfind("study-", 0), 0u);
  EXPECT_EQ(ps.studies[0].mura_path.find(uid), std::string::npos);
}

TEST(DicomBadInput, OneClearLineEachAndTheRestIsIndexed) {
  const json m = manifest();
  ASSERT_TRUE(m.contains("bad"));
  for (const auto& [name, why] : m["bad"]["bad"].items()) {
    const fs::path f = fs::path(m["bad"]["tree"].get<std::string>()) / name;
    EXPECT_ERROR_CONTAINS(data::load_gray(f), f.string(), why.get<std::string>());
  }
  for (const auto& e : m["broken"]) {
    const std::string f = e["file"];
    if (!fs::exists(f)) continue;
    EXPECT_ERROR_CONTAINS(data::load_gray(f), f) << e["what"].get<std::string>();
  }
  data::IndexOptions o;
  o.dicom.require_labels = false;
  const data::Dataset ds = data::index_dataset(m["bad"]["tree"].get<std::string>(), o);
  ASSERT_EQ(ds.images.size(), 1u);
  EXPECT_EQ(ds.images[0].file, fs::path(m["bad"]["good"].get<std::string>()));
  EXPECT_EQ(ds.report.file_problems.size(), m["bad"]["bad"].size());
  for (const auto& [name, why] : m["bad"]["bad"].items()) {
    bool found = false;
    for (const auto& line : ds.report.file_problems)
      found = found || (test::contains(line, name) && test::contains(line, why.get<std::string>()));
    EXPECT_TRUE(found) << name << " has no line saying " << why;
  }
}

/// Every byte under `dir`, and `printed`, searched for each value.
void expect_no_phi(const fs::path& dir, const std::string& printed,
                   const std::vector<std::string>& values) {
  for (const auto& v : values) EXPECT_FALSE(test::contains(printed, v)) << "printed: " << v;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = read_file(e.path());
    for (const auto& v : values)
      EXPECT_EQ(bytes.find(v), std::string::npos) << e.path() << " holds " << v;
  }
}

TEST(DicomPhi, NothingMuraPrintsOrWritesHoldsPatientData) {
  const json m = manifest();
  ASSERT_TRUE(m.contains("phi"));
  const std::string tree = m["phi"]["tree"], labels = m["phi"]["labels"];
  std::vector<std::string> values = m["phi"]["values"];
  // dates as DICOM writes them and as a person would
  test::TempDir tmp;
  const fs::path out = tmp.path();
  std::string printed;
  auto mura = [&](const std::string& args, int want = 0) {
    const auto r = test::run_mura(args);
    printed += r.out;
    EXPECT_EQ(r.exit_code, want) << args << "\n" << r.out;
    return r;
  };
  mura("stats --data-dir " + tree + " --labels " + labels);
  mura("stats --data-dir " + tree + " --labels " + labels + " --json");
  mura("train --data-dir " + tree + " --labels " + labels +
       " --model resnet18 --img-size 64 --batch-size 4 --epochs 1 --max-steps 2 --val-split 0.5 "
       "--scheduler none "
       "--workers 0 --output-dir " +
       (out / "run").string());
  mura("evaluate --data-dir " + tree + " --labels " + labels + " --checkpoint " +
       (out / "run/best.ckpt").string() + " --output-dir " + (out / "eval").string() +
       " --bootstrap 50 --report " + (out / "report.html").string());
  mura("predict " + tree + " --checkpoint " + (out / "run/best.ckpt").string());
  mura("explain " + tree + "/IMG00 --checkpoint " + (out / "run/best.ckpt").string() +
       " --output-dir " + (out / "cam").string());
  mura("convert-dicom --input " + tree + " --labels " + labels + " --out " +
       (out / "converted/MURA-conv").string() + " --key-out " + (out / "key.csv").string());
  mura("evaluate --data-dir " + tree + " --labels " + labels + " --pseudonymize --checkpoint " +
       (out / "run/best.ckpt").string() + " --output-dir " + (out / "eval_pseudo").string() +
       " --bootstrap 0");
  EXPECT_TRUE(test::contains(printed, "broken.dcm")) << "the bad file gets its line";
  fs::remove(out / "key.csv");  // the key file is the user's secret: it holds UIDs only
  expect_no_phi(out, printed, values);
  // The converted set is a MURA layout that mura reads, and its pseudonymised evaluation
  // names no UID.
  EXPECT_EQ(mura("stats --data-dir " + (out / "converted/MURA-conv").string()).exit_code, 0);
  const std::string pseudo = read_file(out / "eval_pseudo/predictions_studies.csv");
  std::istringstream lines(read_file(labels));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) {
      EXPECT_EQ(pseudo.find(line.substr(0, line.find(','))), std::string::npos) << line;
    }
}

TEST(DicomPhi, ACheckpointGivesTheSameProbabilityOnTheDicomAsOnItsPng) {
  const json m = manifest();
  if (!m.contains("generated")) GTEST_SKIP() << "no generated files";
  test::TempDir tmp;
  const fs::path data = tmp / "synth";
  ASSERT_EQ(test::run_mura("synth --output-dir " + data.string() +
                           " --patients 12 --seed 3 --min-size 64 --max-size 96")
                .exit_code,
            0);
  const auto t = test::run_mura(
      "train --data-dir " + data.string() +
      " --model resnet18 --img-size 64 --batch-size 8 --epochs 1 --max-steps 3 --val-source valid "
      "--scheduler none --workers 0 --output-dir " +
      (tmp / "run").string());
  ASSERT_EQ(t.exit_code, 0) << t.out;
  const fs::path src = fs::path(MURA_DICOM_DIR) / "generated" / "source.png";
  // One predict over the PNG and every lossless encoding of it (one process, one model load).
  std::string args = "predict " + src.string();
  std::vector<std::string> encodings;
  for (const auto& [enc, e] : m["generated"].items()) {
    if (e["lossy"].get<bool>()) continue;
    args += " " + e["file"].get<std::string>();
    encodings.push_back(enc);
  }
  const auto r =
      test::run_mura(args + " --checkpoint " + (tmp / "run/best.ckpt").string() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json j = json::parse(r.out.substr(r.out.find('{')));
  ASSERT_EQ(j["images"].size(), encodings.size() + 1) << r.out;
  for (std::size_t i = 0; i < encodings.size(); ++i)
    EXPECT_NEAR(j["images"][0]["probability"].get<double>(),
                j["images"][i + 1]["probability"].get<double>(), 0.01)
        << encodings[i];
}

}  // namespace
}  // namespace mura
