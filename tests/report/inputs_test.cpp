// Reading the evaluation's and the training's files for the report, and their errors.
#include "mura/report/inputs.h"

#include <gtest/gtest.h>

#include <cmath>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::report {
namespace {
namespace fs = std::filesystem;

using test::contains;
using test::error_message;

const char* kMinimalMetrics = R"({"format_version": 1, "threshold": 0.5, "per_body_part": {},
  "study": {"auroc": {}, "kappa": {}, "sensitivity": {}, "specificity": {}, "confusion_matrix": [], "classification_report": {}},
  "image": {"auroc": {}, "kappa": {}, "sensitivity": {}, "specificity": {}, "confusion_matrix": [], "classification_report": {}}})";

TEST(ReportInputs, MetricsJsonIsCheckedAndErrorsNameTheFileAndTheProblem) {
  test::TempDir dir;
  const fs::path f = dir / "metrics.json";
  EXPECT_TRUE(contains(error_message([&] { read_metrics_json(f); }),
                       f.string() + ": no such file (run 'mura evaluate' first"));
  test::write_text(f, "{\"format_version\": 1,");
  EXPECT_TRUE(
      contains(error_message([&] { read_metrics_json(f); }), f.string() + ": not valid JSON"));
  test::write_text(f, "[1, 2]");
  EXPECT_TRUE(contains(error_message([&] { read_metrics_json(f); }), "expected a JSON object"));
  test::write_text(f, "{\"study\": {}}");
  EXPECT_TRUE(contains(error_message([&] { read_metrics_json(f); }), "no format_version"));
  std::string v2 = kMinimalMetrics;
  v2.replace(v2.find("\"format_version\": 1"), 19, "\"format_version\": 2");
  test::write_text(f, v2);
  EXPECT_TRUE(contains(error_message([&] { read_metrics_json(f); }),
                       f.string() + ": format_version 2 is not supported"))
      << error_message([&] { read_metrics_json(f); });
  test::write_text(f, kMinimalMetrics);
  EXPECT_EQ(read_metrics_json(f)["threshold"], 0.5);
  std::string no_kappa = kMinimalMetrics;
  no_kappa.replace(no_kappa.find("\"kappa\": {}, "), 13, "");
  test::write_text(f, no_kappa);
  EXPECT_TRUE(contains(error_message([&] { read_metrics_json(f); }), "missing key 'study.kappa'"))
      << error_message([&] { read_metrics_json(f); });
}

TEST(ReportInputs, CsvLinesFollowRfc4180Quoting) {
  EXPECT_EQ(parse_csv_line("a,b,,c", "x"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(parse_csv_line("\"a,b\",\"say \"\"hi\"\"\",c", "x"),
            (std::vector<std::string>{"a,b", "say \"hi\"", "c"}));
  EXPECT_EQ(parse_csv_line("", "x"), (std::vector<std::string>{""}));
  EXPECT_EQ(parse_csv_line("a,", "x"), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(error_message([] { parse_csv_line("\"open,b", "f.csv:3"); }),
            "f.csv:3: unterminated quoted field");
  EXPECT_EQ(error_message([] { parse_csv_line("\"a\"b,c", "f.csv:4"); }),
            "f.csv:4: text after a closing quote");
}

TEST(ReportInputs, ImagePredictionsAreReadAndBadRowsNamed) {
  test::TempDir dir;
  const fs::path f = dir / "predictions_images.csv";
  test::write_text(
      f,
      "path,body_part,study,label,probability\n"
      "\"M/valid/XR_HAND/p1/s1,odd/image1.png\",XR_HAND,\"M/valid/XR_HAND/p1/s1,odd/\",1,0.875\r\n"
      "M/valid/XR_HAND/p2/s1/image1.png,XR_HAND,M/valid/XR_HAND/p2/s1/,0,1e-3\n");
  const auto rows = read_image_predictions(f);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].path, "M/valid/XR_HAND/p1/s1,odd/image1.png");
  EXPECT_EQ(rows[0].study, "M/valid/XR_HAND/p1/s1,odd/");
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_EQ(rows[0].probability, 0.875);
  EXPECT_EQ(rows[1].probability, 1e-3);

  test::write_text(f, "path,label\n");
  EXPECT_TRUE(contains(error_message([&] { read_image_predictions(f); }),
                       f.string() + ":1: expected the header"));
  test::write_text(f, "path,body_part,study,label,probability\na,XR_HAND,s,2,0.5\n");
  EXPECT_EQ(error_message([&] { read_image_predictions(f); }),
            f.string() + ":2: label must be 0 or 1, got '2'");
  test::write_text(
      f, "path,body_part,study,label,probability\na,XR_HAND,s,1,0.5\na,XR_HAND,s,1,1.5\n");
  EXPECT_EQ(error_message([&] { read_image_predictions(f); }),
            f.string() + ":3: probability must be a number in [0, 1], got '1.5'");
  test::write_text(f, "path,body_part,study,label,probability\na,XR_HAND,s,1\n");
  EXPECT_TRUE(contains(error_message([&] { read_image_predictions(f); }), ":2: expected 5 fields"));
  test::write_text(f, "path,body_part,study,label,probability\n");
  EXPECT_EQ(error_message([&] { read_image_predictions(f); }), f.string() + ": no predictions");
}

TEST(ReportInputs, TrainingLogKeepsEmptyCellsAsNan) {
  test::TempDir dir;
  const fs::path f = dir / "metrics.csv";
  test::write_text(
      f, "epoch,lr,train_loss,val_loss,best\n1,0.001000,0.693,,1\n2,0.000100,0.5,0.61,0\n");
  const auto log = read_training_log(f);
  EXPECT_EQ(log.rows, 2u);
  EXPECT_EQ(log.columns.size(), 5u);
  EXPECT_EQ(log.values.at("epoch"), (std::vector<double>{1, 2}));
  EXPECT_TRUE(std::isnan(log.values.at("val_loss")[0]));
  EXPECT_EQ(log.values.at("val_loss")[1], 0.61);
  EXPECT_TRUE(log.has("lr"));
  EXPECT_FALSE(log.has("val_study_auc"));
  test::write_text(f, "step,lr\n1,0.1\n");
  EXPECT_TRUE(contains(error_message([&] { read_training_log(f); }), "no 'epoch' column"));
  test::write_text(f, "epoch,lr\n1,fast\n");
  EXPECT_EQ(error_message([&] { read_training_log(f); }),
            f.string() + ":2: column 'lr': expected a number, got 'fast'");
}

TEST(ReportInputs, ImagesResolveBelowTheRootOrItsParentWhateverTheRootIsCalled) {
  test::TempDir dir;
  const fs::path root = test::make_layout(
      dir.path(), "MURA-v1.1", {{"valid", "XR_HAND", "patient1", "study1_positive", 1, 1}});
  const std::string mp = "MURA-v1.1/valid/XR_HAND/patient1/study1_positive/image1.png";
  const fs::path want = root / "valid/XR_HAND/patient1/study1_positive/image1.png";
  EXPECT_TRUE(fs::equivalent(resolve_image(root, mp), want));
  EXPECT_TRUE(fs::equivalent(resolve_image(dir.path(), mp), want));
  fs::rename(root, dir / "renamed");
  EXPECT_TRUE(fs::equivalent(resolve_image(dir.path(), mp),
                             dir / "renamed/valid/XR_HAND/patient1/study1_positive/image1.png"))
      << "the parent of a root with another name";
  EXPECT_FALSE(fs::exists(resolve_image(dir / "nowhere", mp)));
}

}  // namespace
}  // namespace mura::report
