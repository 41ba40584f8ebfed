// `mura train`, `evaluate`, `convert-weights`, `export`, `info` end to end, with the seeds'
// flag spellings.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/util/strings.h"

namespace mura {
namespace {
namespace fs = std::filesystem;
using test::run_mura;

using test::contains;

std::size_t lines_of(const fs::path& f) {
  std::ifstream in(f);
  std::size_t n = 0;
  std::string l;
  while (std::getline(in, l)) ++n;
  return n;
}

class TrainCli : public ::testing::Test {
 protected:
  // The data and the 2-epoch run are made once for all of this suite's processes
  // (test::shared_fixture) and only read; what the tests write goes to scratch_.
  static void SetUpTestSuite() {
    scratch_ = new test::TempDir();
    fixture_ = new fs::path(test::shared_fixture("train_cli", [](const fs::path& d) {
      const std::string data = (d / "MURA-synth").string(), out = (d / "run").string();
      auto r = run_mura("synth --output-dir '" + data +
                        "' --patients 40 --seed 9 --min-size 64 --max-size 96");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      r = run_mura("train --data_dir '" + data +
                   "' --model resnet18 --img_size 32 --batch_size 8 " +
                   "--epochs 2 --lr 1e-3 --output_dir '" + out + "' --checkpoint_path '" + out +
                   "/model.ckpt' --val-split 0.25 --no-progress --seed 4");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      test::write_text(d / "train.out", r.out);
    }));
    train_output_ =
        new std::string(fs::exists(*fixture_ / "train.out") ? read_file(*fixture_ / "train.out")
                                                            : "the shared fixture was not made");
  }
  static void TearDownTestSuite() {
    delete scratch_;
    delete fixture_;
    delete train_output_;
  }
  static std::string data() { return (*fixture_ / "MURA-synth").string(); }
  static std::string out() { return (*fixture_ / "run").string(); }
  static test::TempDir* scratch_;
  static fs::path* fixture_;
  static std::string* train_output_;
};
test::TempDir* TrainCli::scratch_ = nullptr;
fs::path* TrainCli::fixture_ = nullptr;
std::string* TrainCli::train_output_ = nullptr;

TEST_F(TrainCli, TrainWritesCheckpointsAndMetricsEveryEpoch) {
  EXPECT_TRUE(fs::exists(out() + "/model.ckpt"));
  EXPECT_TRUE(fs::exists(out() + "/last.ckpt"));
  EXPECT_EQ(lines_of(out() + "/metrics.csv"), 3u);
  EXPECT_EQ(lines_of(out() + "/metrics.jsonl"), 2u);
  const std::string csv = read_file(out() + "/metrics.csv");
  EXPECT_TRUE(contains(csv, "epoch,step,lr,train_loss,val_loss,val_image_auc")) << csv;
  // the per-epoch line
  EXPECT_TRUE(contains(*train_output_, "epoch 2/2  train_loss")) << *train_output_;
  EXPECT_TRUE(contains(*train_output_, "study auc")) << *train_output_;
  const auto info = run_mura("info '" + out() + "/last.ckpt'");
  EXPECT_EQ(info.exit_code, 0) << info.out;
  EXPECT_TRUE(contains(info.out, "resnet18, 1 output(s)")) << info.out;
  EXPECT_TRUE(contains(info.out, "epochs done:    2")) << info.out;
}

TEST_F(TrainCli, EvaluateHeldoutWritesMetricsAndMuraSubmissionCsv) {
  const std::string eval_dir = scratch_->path() / "eval";
  const auto r =
      run_mura("evaluate --data-dir '" + data() + "' --checkpoint '" + out() +
               "/model.ckpt' --split heldout --bootstrap 100 --output-dir '" + eval_dir + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "study level")) << r.out;
  EXPECT_TRUE(contains(r.out, "95% CI")) << r.out;
  EXPECT_TRUE(contains(r.out, "precision    recall  f1-score   support")) << r.out;
  const auto j = nlohmann::json::parse(read_file(eval_dir + "/metrics.json"));
  EXPECT_EQ(j["format_version"], 1);
  EXPECT_EQ(j["split"], "heldout");
  const std::size_t studies = j["study"]["n"];
  EXPECT_EQ(lines_of(eval_dir + "/predictions_studies.csv"), studies);
  EXPECT_EQ(lines_of(eval_dir + "/predictions_images.csv"), j["image"]["n"].get<std::size_t>() + 1);
  const std::string first = read_file(eval_dir + "/predictions_studies.csv").substr(0, 200);
  EXPECT_TRUE(contains(first, "MURA-synth/train/XR_")) << first;
  EXPECT_TRUE(contains(first, "/,0\n") || contains(first, "/,1\n")) << first;
  EXPECT_TRUE(j["bootstrap"]["study_auroc"].contains("lower"));
  EXPECT_TRUE(j["per_body_part"]["study"].is_object());
}

TEST_F(TrainCli, EnsembleYoudenAndFlipTta) {
  const std::string eval_dir = scratch_->path() / "eval2";
  const auto r = run_mura(
      "evaluate --data_dir '" + data() + "' --checkpoint '" + out() + "/model.ckpt' '" + out() +
      "/last.ckpt' --threshold youden --tta flip --bootstrap 0 --output_dir '" + eval_dir + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(read_file(eval_dir + "/metrics.json"));
  EXPECT_EQ(j["checkpoints"].size(), 2u);
  EXPECT_EQ(j["tta"], "flip");
  EXPECT_TRUE(contains(j["threshold_rule"].get<std::string>(), "youden"));
}

TEST_F(TrainCli, ResumeContinuesToTheTotalEpochs) {
  // (on a copy of the shared run)
  const std::string run = scratch_->path() / "resumed";
  fs::copy(out(), run, fs::copy_options::recursive);
  const auto out = [&] { return run; };
  auto r = run_mura("train --data-dir '" + data() + "' --load_checkpoint '" + out() +
                    "/last.ckpt' --epochs 3 --output-dir '" + out() +
                    "' --val-split 0.25 --no-progress --seed 4");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "epoch 3/3")) << r.out;
  EXPECT_FALSE(contains(r.out, "epoch 1/3")) << r.out;
  EXPECT_EQ(lines_of(out() + "/metrics.csv"), 4u);
  // a fresh run into the same folder would destroy the checkpoints: refused
  r = run_mura("train --data-dir '" + data() + "' --model resnet18 --epochs 1 --output-dir '" +
               out() + "' --no-progress");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "already holds a training run")) << r.out;
  EXPECT_TRUE(contains(r.out, "--overwrite")) << r.out;
  r = run_mura("train --data-dir '" + data() + "' --load-checkpoint '" + out() +
               "/last.ckpt' --epochs 2 --output-dir '" + out() + "' --no-progress");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "has done 3 epochs already")) << r.out;
}

TEST_F(TrainCli, ExportedModelAndBadInputs) {
  const std::string scratch = scratch_->path();
  auto r = run_mura("export --checkpoint '" + out() + "/model.ckpt' --output '" + scratch +
                    "/model.pt'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GT(fs::file_size(scratch + "/model.pt"), 1000000u);
  r = run_mura("evaluate --data-dir '" + data() + "' --checkpoint /no/such.ckpt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "/no/such.ckpt")) << r.out;
  r = run_mura("evaluate --data-dir '" + data() + "' --checkpoint '" + out() +
               "/model.ckpt' --threshold 1.5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "--threshold")) << r.out;
  r = run_mura("train --data-dir '" + data() + "' --monitor f1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.out, "--monitor")) << r.out;
  r = run_mura("train --data-dir '" + data() + "' --model vgg16 --epochs 1 --output-dir '" +
               scratch + "/x'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "unknown architecture 'vgg16'")) << r.out;
  r = run_mura("train --data-dir '" + data() + "' --pretrained '" + data() +
               "/train_image_paths.csv' --output-dir '" + scratch + "/y'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "train_image_paths.csv")) << r.out;
}

TEST_F(TrainCli, CtrlCWritesAResumableCheckpoint) {
  const std::string run = scratch_->path() / "interrupted";
  // SIGINT after 12 s, as Ctrl-C sends it, and again 50 ms later, as `timeout` or a job
  // manager does when it signals both the process and its group (the steps, 128 px batches of
  // 16, take longer than that): still one interrupt, which finishes the step and writes
  // last.ckpt (exit code 130). mura used to die on the repeat, without a checkpoint.
  const auto r = test::run_command(
      "'" + std::string(MURA_BINARY) + "' train --data-dir '" + data() +
      "' --model resnet18 --img-size 128 --batch-size 16 --epochs 500 --output-dir '" + run +
      "' --no-progress --cache memory 2>&1 & pid=$!; sleep 12; "
      "kill -INT $pid; sleep 0.05; kill -INT $pid; wait $pid; echo \"rc=$?\"");
  EXPECT_TRUE(contains(r.out, "rc=130")) << r.out;
  EXPECT_TRUE(contains(r.out, "interrupted: wrote")) << r.out;
  const auto info = run_mura("info '" + run + "/last.ckpt'");
  EXPECT_EQ(info.exit_code, 0) << info.out;
}

TEST(TrainCliOneClass, AValidationSetOfOneLabelStillLeavesABestCheckpointAndSaysWhy) {
  // No AUROC on a validation set of one label: no epoch is "best" by it. best.ckpt must still
  // exist (the last epoch), with a warning, so evaluate/predict/serve find it.
  test::TempDir tmp;
  const auto root =
      test::make_layout(tmp.path(), "MURA-v1.1",
                        {{"train", "XR_WRIST", "patient00001", "study1_positive", 1, 2},
                         {"train", "XR_WRIST", "patient00002", "study1_negative", 0, 2},
                         {"valid", "XR_WRIST", "patient00003", "study1_negative", 0, 2},
                         {"valid", "XR_WRIST", "patient00004", "study1_negative", 0, 2}});
  const auto r = run_mura("train --data-dir '" + root.string() +
                          "' --model resnet18 --img-size 32 --batch-size 2 --epochs 1 "
                          "--val-source valid --scheduler none --workers 0 --no-progress "
                          "--output-dir '" +
                          (tmp / "run").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(tmp / "run/best.ckpt"));
  EXPECT_TRUE(contains(r.out, "was undefined in every epoch")) << r.out;
}

TEST(ConvertWeightsCli, TorchvisionPthBecomesACheckpointAndStartsTraining) {
  test::TempDir tmp;
  const auto py =
      test::run_command(std::string(MURA_PYTHON) +
                        " -c \"import torch, torchvision; torch.manual_seed(0); "
                        "torch.save(torchvision.models.resnet18().state_dict(), '" +
                        (tmp / "r18.pth").string() + "', _use_new_zipfile_serialization=False)\"");
  ASSERT_EQ(py.exit_code, 0) << py.out;
  auto r = run_mura("convert-weights --input '" + (tmp / "r18.pth").string() + "' --output '" +
                    (tmp / "r18.ckpt").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "resnet18, legacy format")) << r.out;
  r = run_mura("info '" + (tmp / "r18.ckpt").string() + "'");
  EXPECT_TRUE(contains(r.out, "resnet18, 1000 output(s)")) << r.out;
  r = run_mura("convert-weights --arch resnet34 --input '" + (tmp / "r18.pth").string() +
               "' --output '" + (tmp / "x.ckpt").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "holds resnet18 weights, not resnet34")) << r.out;
  EXPECT_FALSE(fs::exists(tmp / "x.ckpt"));
  r = run_mura("synth --output-dir '" + (tmp / "D").string() +
               "' --patients 12 --min-size 64 --max-size 80");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_mura("train --data-dir '" + (tmp / "D").string() + "' --model resnet18 --pretrained '" +
               (tmp / "r18.pth").string() +
               "' --freeze --img-size 32 --batch-size 4 --epochs 1 --output-dir '" +
               (tmp / "run").string() + "' --val-source valid --no-progress");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "(new head)")) << r.out;
}

}  // namespace
}  // namespace mura
