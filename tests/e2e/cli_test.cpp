// End-to-end tests of the `mura` executable: flags (with the seeds' spellings), output and
// error messages, exit codes. Every test checks what the command printed, so a command that
// fails, crashes or prints nothing fails it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../test_util.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::run_mura;

using test::contains;

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto r = run_mura("synth --output-dir '" + (dir_->path() / "MURA-synth").string() +
                            "' --patients 30 --seed 5");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ASSERT_TRUE(contains(r.out, "30 patients")) << r.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string root() { return (dir_->path() / "MURA-synth").string(); }
  static std::string parent() { return dir_->path().string(); }
  static test::TempDir* dir_;
};
test::TempDir* Cli::dir_ = nullptr;

TEST_F(Cli, StatsPrintsATableFromRootOrParentWithEitherFlagSpelling) {
  const auto a = run_mura("stats --data-dir '" + root() + "'");
  const auto b = run_mura("stats --data_dir '" + parent() + "'");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  ASSERT_EQ(b.exit_code, 0) << b.out;
  EXPECT_TRUE(contains(a.out, "body part"));
  EXPECT_TRUE(contains(a.out, "train  ALL"));
  EXPECT_TRUE(contains(a.out, "valid  ALL"));
  EXPECT_TRUE(contains(a.out, "(MURA-synth)")) << "the data set's name";
  EXPECT_EQ(a.out, b.out) << "the same table from the root and from its parent";
}

TEST_F(Cli, StatsJsonCountsAddUp) {
  const auto r = run_mura("stats --data-dir '" + root() + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format_version"], 1);
  EXPECT_EQ(j["root_name"], "MURA-synth");
  ASSERT_TRUE(j.contains("rows") && j["rows"].is_array() && !j["rows"].empty()) << r.out;
  std::size_t parts_images = 0, all_images = 0;
  for (const auto& row : j["rows"]) {
    EXPECT_EQ(row["images"], row["images_normal"].get<int>() + row["images_abnormal"].get<int>());
    if (row["split"] == "all" && row["body_part"] != "ALL")
      parts_images += row["images"].get<std::size_t>();
    if (row["split"] == "all" && row["body_part"] == "ALL") all_images = row["images"];
  }
  EXPECT_GT(all_images, 0u);
  EXPECT_EQ(parts_images, all_images);
}

TEST_F(Cli, StatsFiltersBySplitAndTasks) {
  const auto r =
      run_mura("stats --data-dir '" + root() + "' --split valid --tasks elbow,XR_HAND --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("rows") && j["rows"].is_array() && j["rows"].size() >= 2u)
      << "a part and ALL: " << r.out;
  int all_rows = 0;
  std::size_t parts_images = 0, all_images = 0;
  for (const auto& row : j["rows"]) {
    EXPECT_EQ(row["split"], "valid");
    EXPECT_TRUE(row["body_part"] == "XR_ELBOW" || row["body_part"] == "XR_HAND" ||
                row["body_part"] == "ALL")
        << row;
    if (row["body_part"] == "ALL") {
      ++all_rows;
      all_images = row["images"].get<std::size_t>();
    } else {
      parts_images += row["images"].get<std::size_t>();
    }
  }
  EXPECT_EQ(all_rows, 1);
  EXPECT_GT(all_images, 0u);
  EXPECT_EQ(parts_images, all_images) << "ALL counts only the kept parts";
}

TEST_F(Cli, UnknownTaskNamesTheFlagAndListsTheParts) {
  const auto r = run_mura("stats --data-dir '" + root() + "' --tasks KNEE");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "--tasks: unknown body part 'KNEE'")) << r.out;
  EXPECT_TRUE(contains(r.out, "XR_ELBOW")) << r.out;
}

TEST_F(Cli, BadFlagsAreNamedWithExitCode2) {
  auto r = run_mura("stats --data-dir '" + root() + "' --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--bogus")) << r.out;
  r = run_mura("stats");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--data-dir")) << r.out;
  r = run_mura("stats --data-dir '" + root() + "' --split test");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--split")) << r.out;
  r = run_mura("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "frobnicate")) << r.out;
}

TEST_F(Cli, MissingDataDirIsAClearError) {
  const auto r = run_mura("stats --data-dir /no/such/folder");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "mura: error: data dir '/no/such/folder' does not exist")) << r.out;
}

TEST(CliStandalone, SkipBadPrintsCountsAndFailByDefaultNamesTheLine) {
  test::TempDir tmp;
  const fs::path root =
      test::make_layout(tmp.path(), "M",
                        {{"train", "XR_HAND", "patient1", "study1_positive", 1, 2},
                         {"valid", "XR_HAND", "patient2", "study1_negative", 0, 1}});
  fs::remove(root / "train/XR_HAND/patient1/study1_positive/image2.png");
  auto r = run_mura("stats --data-dir '" + root.string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "train_image_paths.csv:2: listed image does not exist")) << r.out;
  EXPECT_TRUE(contains(r.out, "--skip-bad")) << r.out;
  r = run_mura("stats --data-dir '" + root.string() + "' --skip-bad");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "skipped 1 entry (missing image)")) << r.out;
}

TEST(CliStandalone, SynthRefusesToOverwriteWithoutForce) {
  test::TempDir tmp;
  test::write_text(tmp / "D/file.txt", "x");
  auto r = run_mura("synth --output-dir '" + (tmp / "D").string() + "' --patients 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "--overwrite")) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "D/file.txt")) << "refused means untouched";
  r = run_mura("synth --output-dir '" + (tmp / "D").string() + "' --patients 4 --force");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "4 patients"));
  EXPECT_FALSE(fs::exists(tmp / "D/file.txt"));
  EXPECT_TRUE(fs::exists(tmp / "D/train_image_paths.csv")) << "a data set was written";
}

TEST(CliStandalone, VersionAndHelp) {
  auto r = run_mura("--version");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "mura " MURA_VERSION)) << r.out;
  r = run_mura("stats --help");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "--data-dir")) << r.out;
  EXPECT_TRUE(contains(r.out, "--data_dir")) << r.out;
}

}  // namespace
}  // namespace mura
