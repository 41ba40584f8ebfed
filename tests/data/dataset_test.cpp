#include "mura/data/dataset.h"

#include <gtest/gtest.h>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::data {
namespace {

IndexOptions skip_bad_entries() {
  IndexOptions o;
  o.on_bad = BadEntryPolicy::Skip;
  return o;
}

namespace fs = std::filesystem;
using test::StudySpec;
using test::TempDir;

std::vector<StudySpec> small_layout() {
  return {
      {"train", "XR_WRIST", "patient00001", "study1_positive", 1, 2},
      {"train", "XR_WRIST", "patient00002", "study1_negative", 0, 1},
      {"train", "XR_ELBOW", "patient00003", "study1_negative", 0, 3},
      {"train", "XR_ELBOW", "patient00003", "study2_positive", 1, 1},
      {"valid", "XR_WRIST", "patient10001", "study1_positive", 1, 2},
  };
}

/// Expects index_dataset to throw an Error whose message contains every fragment.
void expect_index_error(const fs::path& dir, const std::vector<std::string>& fragments,
                        IndexOptions opt = {}) {
  const std::string message = test::error_message([&] { index_dataset(dir, opt); });
  for (const auto& f : fragments) EXPECT_TRUE(test::contains(message, f));
}

TEST(Dataset, IndexesFromTheRootAndFromItsParent) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "MURA-v1.1", small_layout());
  for (const fs::path& dir : {root, tmp.path(), fs::path(root.string() + "/")}) {
    const Dataset ds = index_dataset(dir);
    EXPECT_EQ(ds.root, root);
    EXPECT_EQ(ds.root_name, "MURA-v1.1");
    EXPECT_EQ(ds.images.size(), 9u);
    EXPECT_EQ(ds.studies.size(), 5u);
  }
}

TEST(Dataset, RecordsCarryPathSplitPartPatientStudyAndLabel) {
  TempDir tmp;
  const Dataset ds = index_dataset(test::make_layout(tmp.path(), "MURA-v1.1", small_layout()));
  const ImageRecord& r = ds.images[0];
  EXPECT_EQ(r.mura_path, "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png");
  EXPECT_EQ(r.file, tmp / "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png");
  EXPECT_EQ(r.split, Split::Train);
  EXPECT_EQ(r.body_part, "XR_WRIST");
  EXPECT_EQ(r.patient_id, "patient00001");
  EXPECT_EQ(r.label, 1);
  const StudyRecord& s = ds.studies[r.study];
  EXPECT_EQ(s.mura_path, "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/");
  EXPECT_EQ(s.images.size(), 2u);
  EXPECT_EQ(ds.images.back().split, Split::Valid);
  EXPECT_EQ(ds.images_of(Split::Valid).size(), 2u);
  EXPECT_EQ(ds.body_parts(), (std::vector<std::string>{"XR_ELBOW", "XR_WRIST"}));
}

TEST(Dataset, ARenamedRootFolderStillResolves) {
  TempDir tmp;
  test::make_layout(tmp.path(), "MURA-v1.1", small_layout());
  fs::rename(tmp / "MURA-v1.1", tmp / "mura_copy");
  const Dataset ds = index_dataset(tmp / "mura_copy");
  EXPECT_EQ(ds.root_name, "MURA-v1.1");  // as the CSVs say, for MURA-form output
  EXPECT_TRUE(fs::exists(ds.images[0].file));
}

TEST(Dataset, AcceptsBomCrlfBlankLinesAndQuotes) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  test::write_text(root / "valid_image_paths.csv",
                   "\xEF\xBB\xBFM/valid/XR_WRIST/patient10001/study1_positive/image1.png\r\n\r\n"
                   "\"M/valid/XR_WRIST/patient10001/study1_positive/image2.png\"\r\n");
  test::write_text(root / "valid_labeled_studies.csv",
                   "M/valid/XR_WRIST/patient10001/study1_positive/,1\r\n\n");
  const Dataset ds = index_dataset(root);
  EXPECT_EQ(ds.images_of(Split::Valid).size(), 2u);
}

TEST(Dataset, AcceptsAnyXrBodyPart) {
  TempDir tmp;
  const Dataset ds = index_dataset(
      test::make_layout(tmp.path(), "fracatlas",
                        {{"train", "XR_LEG", "patient00015", "study1_negative", 0, 1},
                         {"valid", "XR_HIP", "patient00016", "study1_positive", 1, 1}}));
  EXPECT_EQ(ds.body_parts(), (std::vector<std::string>{"XR_HIP", "XR_LEG"}));
}

TEST(Dataset, MalformedLinesAreReportedWithFileAndLine) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  const std::string good = "M/train/XR_WRIST/patient00001/study1_positive/image1.png\n";
  struct Case {
    std::string image_csv, labels_csv, expect;
  };
  const std::string labels = "M/train/XR_WRIST/patient00001/study1_positive/,1\n";
  const std::vector<Case> cases = {
      {good + "M/train/XR_WRIST/patient00001/image1.png\n", labels, "got 5 path component(s)"},
      {good + "M/valid/XR_WRIST/patient00001/study1_positive/image1.png\n", labels,
       "path is in split 'valid'"},
      {good + "M/train/WRIST/patient00001/study1_positive/image1.png\n", labels,
       "does not start with XR_"},
      {good + "M/train/XR_WRIST/patient00001/study1_positive/image1.png,1\n", labels,
       "expected one image path per line"},
      {good + "M/train/XR_WRIST/../study1_positive/image1.png\n", labels, "'..'"},
      {good, labels + "M/train/XR_WRIST/patient00002/study1_negative/,2\n",
       "label must be 0 or 1, got '2'"},
      {good, labels + "M/train/XR_WRIST/patient00002/study1_negative/\n", "(2 fields)"},
      {good, labels + "M/train/XR_WRIST/patient00002/study1_negative,0\n", "must end with '/'"},
  };
  for (const auto& c : cases) {
    test::write_text(root / "train_image_paths.csv", c.image_csv);
    test::write_text(root / "train_labeled_studies.csv", c.labels_csv);
    const std::string file = c.expect.find("label") != std::string::npos ||
                                     c.expect.find("2 fields") != std::string::npos ||
                                     c.expect.find("must end") != std::string::npos
                                 ? "train_labeled_studies.csv:2: "
                                 : "train_image_paths.csv:2: ";
    expect_index_error(root, {(root / file).string(), c.expect, "--skip-bad"});
  }
}

TEST(Dataset, LabelMismatchWithFolderSuffixIsReported) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  test::write_text(root / "train_labeled_studies.csv",
                   "M/train/XR_WRIST/patient00001/study1_positive/,0\n"
                   "M/train/XR_WRIST/patient00002/study1_negative/,0\n"
                   "M/train/XR_ELBOW/patient00003/study1_negative/,0\n"
                   "M/train/XR_ELBOW/patient00003/study2_positive/,1\n");
  expect_index_error(root, {(root / "train_labeled_studies.csv").string() + ":1: ",
                            "is labelled 0 but its folder says positive (1)"});
  // --skip-bad drops the whole study and counts it.
  const Dataset ds = index_dataset(root, skip_bad_entries());
  EXPECT_EQ(ds.images_of(Split::Train).size(), 5u);
  EXPECT_EQ(ds.report.skipped.at("label mismatch"), 1u);
  for (const auto& s : ds.studies) EXPECT_NE(s.patient_id, "patient00001");
}

TEST(Dataset, MissingImageIsReportedWithItsCsvLine) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  fs::remove(root / "train/XR_ELBOW/patient00003/study1_negative/image2.png");
  expect_index_error(
      root, {(root / "train_image_paths.csv").string() + ":5: ", "listed image does not exist",
             "patient00003/study1_negative/image2.png"});
  const Dataset ds = index_dataset(root, skip_bad_entries());
  EXPECT_EQ(ds.images.size(), 8u);
  EXPECT_EQ(ds.report.skipped.at("missing image"), 1u);
  EXPECT_EQ(ds.report.issues.at(0).line, 5u);
}

TEST(Dataset, ImageOfAStudyWithNoLabelIsReported) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  test::write_text(root / "train_labeled_studies.csv",
                   "M/train/XR_WRIST/patient00001/study1_positive/,1\n");
  expect_index_error(root, {(root / "train_image_paths.csv").string() + ":3: ",
                            "study 'train/XR_WRIST/patient00002/study1_negative/'", "does not list",
                            "5 problem(s)"});
  const Dataset ds = index_dataset(root, skip_bad_entries());
  EXPECT_EQ(ds.images_of(Split::Train).size(), 2u);
  EXPECT_EQ(ds.report.skipped.at("unlabelled study"), 5u);
}

TEST(Dataset, DuplicateLinesAreReported) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  const std::string line = "M/valid/XR_WRIST/patient10001/study1_positive/image1.png\n";
  test::write_text(root / "valid_image_paths.csv", line + line);
  expect_index_error(root, {"valid_image_paths.csv:2: ", "listed twice (first at line 1)"});
}

TEST(Dataset, WalksFoldersWhenCsvsAreAbsentIgnoringJunk) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout(), /*csv=*/false);
  const fs::path study = root / "train/XR_WRIST/patient00001/study1_positive";
  test::write_text(study / "._image1.png", "AppleDouble junk");
  test::write_text(study / ".DS_Store", "junk");
  test::write_text(study / "notes.txt", "not an image");
  test::write_png(study / "image10.png");
  test::write_text(root / "train/XR_WRIST/.DS_Store", "junk");
  const Dataset ds = index_dataset(root);
  EXPECT_EQ(ds.images.size(), 10u);
  EXPECT_EQ(ds.report.ignored_files, 4u);
  // folders in sorted order (XR_ELBOW first), files in natural order (image2 < image10)
  EXPECT_EQ(ds.images[0].body_part, "XR_ELBOW");
  std::vector<std::string> names;
  for (const auto& r : ds.images)
    if (r.patient_id == "patient00001") {
      names.push_back(r.file.filename().string());
      EXPECT_EQ(r.label, 1);
    }
  EXPECT_EQ(names, (std::vector<std::string>{"image1.png", "image2.png", "image10.png"}));
  EXPECT_EQ(ds.root_name, "M");
  EXPECT_EQ(ds.report.notes.size(), 2u);
}

TEST(Dataset, WalkedStudyFolderWithoutSuffixHasNoLabel) {
  TempDir tmp;
  const fs::path root = test::make_layout(
      tmp.path(), "M", {{"train", "XR_HAND", "patient00001", "study1", 0, 1}}, false);
  expect_index_error(root, {"study1/image1.png", "no _positive/_negative suffix"});
}

TEST(Dataset, WalkUsesTheLabelsCsvWhenOnlyItIsPresent) {
  TempDir tmp;
  const fs::path root = test::make_layout(tmp.path(), "M", small_layout());
  fs::remove(root / "train_image_paths.csv");
  const Dataset ds = index_dataset(root);
  EXPECT_EQ(ds.images_of(Split::Train).size(), 7u);
}

TEST(Dataset, RootErrorsExplainWhatWasExpected) {
  TempDir tmp;
  expect_index_error(tmp / "nope", {"does not exist"});
  expect_index_error(tmp.path(), {"no MURA-layout data set", "train_image_paths.csv"});
  test::make_layout(tmp.path(), "A", small_layout());
  test::make_layout(tmp.path(), "B", small_layout());
  expect_index_error(tmp.path(), {"several data sets (A, B)"});
}

TEST(Dataset, BodyPartFilterIsCaseInsensitiveAndRejectsUnknownParts) {
  TempDir tmp;
  const Dataset ds = index_dataset(test::make_layout(tmp.path(), "M", small_layout()));
  const Dataset wrist = filter_body_parts(ds, parse_task_list({"wrist"}));
  EXPECT_EQ(wrist.images.size(), 5u);
  for (const auto& r : wrist.images) EXPECT_EQ(r.body_part, "XR_WRIST");
  for (std::size_t i = 0; i < wrist.images.size(); ++i)
    EXPECT_EQ(wrist.studies[wrist.images[i].study].body_part, "XR_WRIST");
  EXPECT_EQ(filter_body_parts(ds, parse_task_list({"ELBOW,xr_wrist"})).images.size(), 9u);
  EXPECT_EQ(filter_body_parts(ds, parse_task_list({"ELBOW", "XR_WRIST"})).images.size(), 9u);
  EXPECT_ERROR_CONTAINS(filter_body_parts(ds, parse_task_list({"ELBOW,knee"})),
                        "unknown body part 'knee'", "XR_ELBOW, XR_WRIST");
}

TEST(Dataset, ParseSplit) {
  EXPECT_EQ(parse_split("Valid"), Split::Valid);
  EXPECT_THROW(parse_split("test"), Error);
}

}  // namespace
}  // namespace mura::data
