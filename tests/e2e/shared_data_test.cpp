// `mura stats` on the real radiographs in ../shared/data must print the counts their
// READMEs give. Skipped (saying why) only where the shared data is absent.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "../test_util.h"

namespace mura {
namespace {
namespace fs = std::filesystem;

struct Row {
  int images_abnormal, images_normal;
};
using Table = std::map<std::pair<std::string, std::string>, Row>;  // (split, part)

Table stats_of(const std::string& name) {
  const fs::path dir = test::shared_data(name);
  const auto r = test::run_mura("stats --data-dir '" + dir.string() + "' --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Table t;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& row : j["rows"]) {
    t[{row["split"].get<std::string>(), row["body_part"].get<std::string>()}] = {
        row["images_abnormal"].get<int>(), row["images_normal"].get<int>()};
    // one image per study and per patient in both sets
    EXPECT_EQ(row["images"], row["studies"]);
    EXPECT_EQ(row["images"], row["patients"]);
  }
  return t;
}

void expect_row(const Table& t, const std::string& split, const std::string& part, int abnormal,
                int normal) {
  auto it = t.find({split, part});
  ASSERT_NE(it, t.end()) << split << " " << part;
  EXPECT_EQ(it->second.images_abnormal, abnormal) << split << " " << part;
  EXPECT_EQ(it->second.images_normal, normal) << split << " " << part;
}

TEST(SharedData, FracAtlasCountsEqualItsReadme) {
  if (const auto why = test::shared_data_absent("fracatlas"); !why.empty()) GTEST_SKIP() << why;
  const Table t = stats_of("fracatlas");
  // README "Counts" table: train abnormal, train normal, valid abnormal, valid normal.
  expect_row(t, "train", "XR_HAND", 274, 373);
  expect_row(t, "valid", "XR_HAND", 57, 78);
  expect_row(t, "train", "XR_HIP", 7, 82);
  expect_row(t, "valid", "XR_HIP", 2, 17);
  expect_row(t, "train", "XR_LEG", 153, 830);
  expect_row(t, "valid", "XR_LEG", 32, 172);
  expect_row(t, "train", "XR_MIXED", 76, 119);
  expect_row(t, "valid", "XR_MIXED", 16, 25);
  expect_row(t, "train", "XR_SHOULDER", 7, 41);
  expect_row(t, "valid", "XR_SHOULDER", 2, 8);
  expect_row(t, "train", "ALL", 517, 1445);
  expect_row(t, "valid", "ALL", 109, 300);
  expect_row(t, "all", "ALL", 626, 1745);  // 2,371 in total
}

TEST(SharedData, PneumoniaMnistCountsEqualItsReadme) {
  if (const auto why = test::shared_data_absent("pneumoniamnist"); !why.empty())
    GTEST_SKIP() << why;
  const Table t = stats_of("pneumoniamnist");
  // README: train 4,708 (1,214 normal / 3,494 pneumonia), valid 524 (135 / 389).
  expect_row(t, "train", "XR_CHEST", 3494, 1214);
  expect_row(t, "valid", "XR_CHEST", 389, 135);
  expect_row(t, "all", "ALL", 3883, 1349);  // 5,232 in total
}

}  // namespace
}  // namespace mura
