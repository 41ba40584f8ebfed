// `mura calibrate`, `train --calibrate --threshold`, and what uses their result: evaluate's
// before/after calibration, predict's threshold line, the report's second reliability diagram.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/weights/checkpoint.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::contains;
using test::run_mura;

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

class CalibrateCli : public ::testing::Test {
 protected:
  // Data and a 2-epoch ResNet-18 made once for all of this suite's processes, and a copy of
  // its best checkpoint made deliberately over-confident (temperature 0.05: logits x 20; the
  // synthetic lesions are easy, so the model itself is about as confident as it should be).
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fixture_ = new fs::path(test::shared_fixture("calibrate_cli", [](const fs::path& d) {
      auto r = run_mura("synth --output-dir " + q(d / "MURA-synth") +
                        " --patients 120 --seed 8 --min-size 48 --max-size 64");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("train --data-dir " + q(d / "MURA-synth") +
                   " --model resnet18 --img-size 32 --batch-size 8 --epochs 2 --lr 1e-3 "
                   "--val-source valid --no-progress --seed 3 --output-dir " +
                   q(d / "run"));
      ASSERT_EQ(r.exit_code, 0) << r.out;
      const weights::Checkpoint c = weights::load_checkpoint(d / "run/best.ckpt");
      weights::ModelSpec over = c.spec;
      over.temperature = 0.05;
      weights::save_checkpoint_with_spec(d / "over.ckpt", c, over);
    }));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete fixture_;
  }
  static fs::path data() { return *fixture_ / "MURA-synth"; }
  static fs::path best() { return *fixture_ / "run/best.ckpt"; }
  static fs::path over() { return *fixture_ / "over.ckpt"; }
  static test::TempDir* dir_;
  static fs::path* fixture_;
};
test::TempDir* CalibrateCli::dir_ = nullptr;
fs::path* CalibrateCli::fixture_ = nullptr;

TEST_F(CalibrateCli, TemperatureScalingLowersNllAndEceOfAnOverConfidentModel) {
  const fs::path cal = dir_->path() / "cal.ckpt", plain = dir_->path() / "plain.ckpt";
  auto r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint " + q(over()) +
                    " --output " + q(cal) + " --threshold sensitivity:0.9 --precision fp32");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "temperature   0.0500 -> ")) << r.out;
  EXPECT_TRUE(contains(r.out, "wrote " + cal.string())) << r.out;
  const weights::Checkpoint c = weights::load_checkpoint(cal);
  const weights::CalibrationRecord& rec = c.spec.calibration;
  ASSERT_TRUE(rec.temperature_fitted);
  EXPECT_LT(rec.nll_after, rec.nll_before);
  EXPECT_LT(rec.ece_after, rec.ece_before);
  EXPECT_GT(c.spec.temperature, 0.05) << "less confident than logits x 20";
  EXPECT_EQ(rec.threshold_rule, "sensitivity:0.9");
  EXPECT_GE(rec.sensitivity, 0.9) << "chosen on these studies";
  EXPECT_LE(rec.sensitivity_lower, rec.sensitivity);
  EXPECT_GE(rec.sensitivity_upper, rec.sensitivity);
  EXPECT_EQ(rec.bootstrap, 1000u);
  EXPECT_TRUE(contains(rec.data, "valid split"));
  // The fit is on the model's own logits: the over-confident copy and the original give the
  // same temperature (the stored one is not applied twice).
  r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint " + q(best()) + " --output " +
               q(plain) + " --precision fp32 --bootstrap 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const weights::Checkpoint p = weights::load_checkpoint(plain);
  EXPECT_NEAR(p.spec.temperature, c.spec.temperature, 1e-9 * c.spec.temperature);
  EXPECT_EQ(p.spec.calibration.threshold_rule, "fixed 0.5000") << "no --threshold: kept";
  EXPECT_DOUBLE_EQ(p.spec.threshold, 0.5);
  // the input was not touched
  EXPECT_DOUBLE_EQ(weights::load_checkpoint(over()).spec.temperature, 0.05);
}

TEST_F(CalibrateCli, EvaluatePredictAndTheReportUseTheCalibratedCheckpoint) {
  const fs::path cal = dir_->path() / "over.calibrated.ckpt";
  fs::copy_file(over(), dir_->path() / "over.ckpt");
  auto r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint " +
                    q(dir_->path() / "over.ckpt") + " --threshold youden");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(fs::exists(cal)) << "the default output is beside the input: " << r.out;
  const double t = weights::load_checkpoint(cal).spec.temperature;
  // evaluate: the checkpoint's threshold by default, calibration before and after
  const fs::path ev = dir_->path() / "eval";
  r = run_mura("evaluate --data-dir " + q(data()) + " --checkpoint " + q(cal) +
               " --bootstrap 0 --output-dir " + q(ev) + " --report " + q(ev / "report.html"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "== calibration (temperature scaling, T =")) << r.out;
  const auto m = nlohmann::json::parse(read_file(ev / "metrics.json"));
  EXPECT_TRUE(contains(m["threshold_rule"].get<std::string>(), "the checkpoint's: ")) << m.dump();
  EXPECT_TRUE(contains(m["threshold_rule"].get<std::string>(), "youden on ")) << m.dump();
  const auto& cal_j = m["calibration"];
  ASSERT_TRUE(cal_j.contains("before_temperature_scaling")) << cal_j.dump();
  EXPECT_NEAR(cal_j["temperatures"][0].get<double>(), t, 1e-12);
  // "before" is the model at temperature 1: what evaluating the unscaled original gives
  const fs::path raw = dir_->path() / "eval_raw";
  r = run_mura("evaluate --data-dir " + q(data()) + " --checkpoint " + q(best()) +
               " --bootstrap 0 --output-dir " + q(raw));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto mr = nlohmann::json::parse(read_file(raw / "metrics.json"));
  EXPECT_FALSE(mr["calibration"].contains("before_temperature_scaling")) << "not scaled";
  for (const char* level : {"image", "study"}) {
    EXPECT_NEAR(cal_j["before_temperature_scaling"][level]["ece"].get<double>(),
                mr["calibration"][level]["ece"].get<double>(), 1e-9)
        << level;
    EXPECT_NEAR(cal_j["before_temperature_scaling"]["nll"][level].get<double>(),
                mr["calibration"]["nll"][level].get<double>(), 1e-9)
        << level;
  }
  // the temperature minimises the image NLL on these images (T = 1 is one of its choices)
  EXPECT_LE(cal_j["nll"]["image"].get<double>(),
            cal_j["before_temperature_scaling"]["nll"]["image"].get<double>() + 1e-4);
  const std::string page = read_file(ev / "report.html");
  EXPECT_TRUE(contains(page, "Reliability before temperature scaling, study level"));
  EXPECT_TRUE(contains(page, "id=\"calibration-before-image\""));
  // predict says where its threshold comes from
  r = run_mura("predict " + q(data() / "valid") + " --checkpoint " + q(cal));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "threshold: the checkpoint's: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "youden on " + data().string())) << r.out;
  // --threshold on the command line still wins
  r = run_mura("predict " + q(data() / "valid") + " --checkpoint " + q(cal) + " --threshold 0.7");
  EXPECT_TRUE(contains(r.out, "threshold 0.700")) << r.out;
  EXPECT_TRUE(contains(r.out, "threshold: --threshold")) << r.out;
}

TEST_F(CalibrateCli, TrainCalibratesItsBestCheckpointAtTheEnd) {
  const fs::path run = dir_->path() / "run";
  auto r = run_mura("train --data-dir " + q(data()) +
                    " --model resnet18 --img-size 32 --batch-size 8 --epochs 1 --lr 1e-3 "
                    "--max-steps 8 --val-source valid --no-progress --seed 3 --calibrate "
                    "--threshold specificity:0.8 --output-dir " +
                    q(run));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "mura calibrate: " + (run / "best.ckpt").string())) << r.out;
  const weights::Checkpoint c = weights::load_checkpoint(run / "best.ckpt");
  EXPECT_TRUE(c.spec.calibration.temperature_fitted);
  EXPECT_EQ(c.spec.calibration.threshold_rule, "specificity:0.8");
  EXPECT_GE(c.spec.calibration.specificity, 0.8);
  EXPECT_TRUE(contains(c.state.options_json, "\"calibrate\":true")) << c.state.options_json;
  // last.ckpt (for resuming) is as training left it; resuming from the calibrated best.ckpt
  // drops its temperature and threshold, and says so
  EXPECT_DOUBLE_EQ(weights::load_checkpoint(run / "last.ckpt").spec.temperature, 1.0);
  r = run_mura("train --data-dir " + q(data()) + " --load-checkpoint " + q(run / "best.ckpt") +
               " --epochs 2 --max-steps 16 --val-source valid --no-progress --output-dir " +
               q(dir_->path() / "run2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "was calibrated")) << r.out;
  EXPECT_DOUBLE_EQ(weights::load_checkpoint(dir_->path() / "run2/last.ckpt").spec.temperature, 1.0);
}

TEST_F(CalibrateCli, BadInputIsAnErrorNamingIt) {
  auto r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint /no/such.ckpt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "/no/such.ckpt")) << r.out;
  r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint " + q(best()) +
               " --threshold sensitivity:1.5 --output " + q(dir_->path() / "x.ckpt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "--threshold")) << r.out;
  EXPECT_FALSE(fs::exists(dir_->path() / "x.ckpt"));
  r = run_mura("calibrate --data-dir " + q(data()) + " --checkpoint " + q(best()) +
               " --output /proc/x.ckpt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "--output")) << r.out;
  r = run_mura("calibrate --checkpoint " + q(best()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--data-dir")) << r.out;
}

}  // namespace
}  // namespace mura
