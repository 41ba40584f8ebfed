// Training end to end on `mura synth` data: it learns, it resumes exactly, it survives
// interruption and being killed while writing a checkpoint.
#include "mura/train/trainer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "mura/app/evaluation.h"
#include "mura/app/training.h"
#include "mura/data/synth.h"
#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"
#include "mura/weights/torchvision.h"

namespace mura::train {
namespace {
namespace fs = std::filesystem;

fs::path synth(const fs::path& dir, int patients, std::uint64_t seed) {
  data::SynthOptions s;
  s.out = dir / "MURA-synth";
  s.patients = patients;
  s.seed = seed;
  s.min_side = 96;
  s.max_side = 160;
  data::write_synthetic_dataset(s);
  return s.out;
}

TrainOptions tiny(const fs::path& data, const fs::path& out) {
  TrainOptions o;
  o.data_dir = data.string();
  o.output_dir = out.string();
  o.model = "resnet18";
  o.image_size = 32;
  o.batch_size = 8;
  o.epochs = 2;
  o.lr = 1e-3;
  o.runtime.workers = 2;
  o.cache = "none";
  o.val_source = "valid";
  o.seed = 3;
  return o;
}

void expect_same_weights(const fs::path& a, const fs::path& b) {
  const auto ca = weights::load_checkpoint(a), cb = weights::load_checkpoint(b);
  const auto sa = weights::model_state_dict(*ca.model), sb = weights::model_state_dict(*cb.model);
  ASSERT_EQ(sa.size(), sb.size());
  double worst = 0;
  for (std::size_t i = 0; i < sa.size(); ++i) {
    ASSERT_EQ(sa[i].name, sb[i].name);
    if (sa[i].tensor.is_floating_point())
      worst = std::max(worst, (sa[i].tensor - sb[i].tensor).abs().max().item<double>());
    else
      EXPECT_TRUE(torch::equal(sa[i].tensor, sb[i].tensor)) << sa[i].name;
  }
  EXPECT_EQ(worst, 0.0) << "weights differ by up to " << worst;
}

TEST(Training, ASmallModelFromScratchLearnsTheSyntheticLesions) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 160, 11);
  TrainOptions o = tiny(data, tmp / "run");
  o.image_size = 64;
  o.batch_size = 32;
  o.epochs = 40;
  o.max_steps = 150;  // the bound: 150 optimizer steps on CPU
  o.lr = 1e-3;
  o.scheduler = "none";
  o.cache = "memory";
  o.seed = 1;
  stop_requested() = false;
  const auto r = app::run_training(o);
  ASSERT_FALSE(r.history.empty());
  EXPECT_LE(r.steps, 150);
  app::EvaluateOptions e;
  e.data_dir = data.string();
  e.checkpoints = {r.best_checkpoint};
  e.output_dir = (tmp / "eval").string();
  e.bootstrap = 200;
  const auto res = app::run_evaluation(e);
  std::printf("learning test: %lld steps, valid study AUROC %.4f, image AUROC %.4f\n",
              static_cast<long long>(r.steps), res.study_auroc, res.image_auroc);
  EXPECT_GE(res.study_auroc, 0.90) << res.report;
}

// The library never prints: training reports to the sink it is given, and stdout stays empty.
TEST(Training, ReportsEpochsProgressAndTheRuntimeToItsSinkAndPrintsNothing) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 24, 5);
  TrainOptions o = tiny(data, tmp / "run");
  stop_requested() = false;
  RecordingSink sink;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const auto r = app::run_training(o, sink);
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
  ASSERT_EQ(r.history.size(), 2u);
  ASSERT_EQ(sink.epochs.size(), 2u) << "one EpochEvent per epoch";
  EXPECT_EQ(sink.epochs[1].epoch, 2);
  EXPECT_EQ(sink.epochs[1].epochs, 2);
  EXPECT_TRUE(test::contains(sink.epochs[0].text, "epoch 1/2  train_loss"));
  EXPECT_EQ(sink.epochs[0].values.front().first, "train_loss");
  EXPECT_DOUBLE_EQ(sink.epochs[0].values.front().second, r.history[0].train_loss);
  ASSERT_FALSE(sink.progress_events.empty());
  EXPECT_EQ(sink.progress_events.back().stage, "train");
  EXPECT_EQ(sink.progress_events.back().done, sink.progress_events.back().total);
  ASSERT_FALSE(sink.infos.empty());
  EXPECT_TRUE(test::contains(sink.infos.front(), "resnet18 on cpu")) << "the device banner";
}

TEST(Training, TwoEpochsStraightEqualOneEpochResumeOneEpoch) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 24, 5);
  stop_requested() = false;
  TrainOptions straight = tiny(data, tmp / "a");
  app::run_training(straight);

  TrainOptions first = tiny(data, tmp / "b");
  first.epochs = 1;
  app::run_training(first);
  TrainOptions second = tiny(data, tmp / "b");
  second.load_checkpoint = (tmp / "b/last.ckpt").string();
  second.lr_given = false;
  const auto r = app::run_training(second);
  ASSERT_EQ(r.history.size(), 1u);
  EXPECT_EQ(r.history[0].epoch, 2);
  expect_same_weights(tmp / "a/last.ckpt", tmp / "b/last.ckpt");
  // metrics.csv holds both epochs once
  std::ifstream csv(tmp / "b/metrics.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 3) << "header + 2 epochs";
  EXPECT_EQ(weights::load_checkpoint(tmp / "b/last.ckpt").state.epoch, 2);
}

TEST(Training, AnInterruptedEpochResumesWhereItStopped) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 24, 5);
  stop_requested() = false;
  app::run_training(tiny(data, tmp / "a"));

  TrainOptions o = tiny(data, tmp / "b");
  o.on_step = [](std::int64_t step) {
    if (step == 3) stop_requested() = true;
  };
  const auto r = app::run_training(o);
  EXPECT_TRUE(r.interrupted);
  const auto c = weights::load_checkpoint(tmp / "b/last.ckpt");
  EXPECT_EQ(c.state.epoch, 0);
  EXPECT_EQ(c.state.batches_done_in_epoch, 3);
  stop_requested() = false;
  TrainOptions resume = tiny(data, tmp / "b");
  resume.load_checkpoint = (tmp / "b/last.ckpt").string();
  resume.lr_given = false;
  app::run_training(resume);
  expect_same_weights(tmp / "a/last.ckpt", tmp / "b/last.ckpt");
}

TEST(Training, KillingTheProcessDuringACheckpointWriteLeavesTheOldOneLoadable) {
  test::TempDir tmp;
  const fs::path path = tmp / "last.ckpt";
  weights::ModelSpec spec;
  spec.arch = "densenet121";
  {
    auto m = models::create_model("densenet121", 1);
    weights::save_checkpoint(path, spec, *m);
  }
  // A child rewrites the checkpoint in a loop; we SIGKILL it at different moments.
  for (int delay_ms : {5, 40, 90, 150, 220, 300}) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      torch::set_num_threads(1);
      auto m = models::create_model("densenet121", 1);
      weights::TrainingState st;
      for (int i = 0;; ++i) {
        st.epoch = i;
        weights::save_checkpoint(path, spec, *m, st);
      }
    }
    ::usleep(static_cast<useconds_t>(delay_ms) * 1000);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_NO_THROW(weights::load_checkpoint(path)) << "after a kill at " << delay_ms << " ms";
  }
  // leftover temporary files are allowed (a killed process cannot clean up) but the target
  // itself is always complete
  EXPECT_NO_THROW(weights::load_checkpoint(path));
}

TEST(Training, CheckpointsRecordThePrecisionMemoryFormatAndAugmentations) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 12, 4);
  stop_requested() = false;
  for (const char* precision : {"fp32", "bf16"}) {
    TrainOptions o = tiny(data, tmp / precision);
    o.epochs = 1;
    o.max_steps = 2;
    o.runtime.precision = precision;
    o.runtime.channels_last = std::string(precision) == "bf16";
    if (o.runtime.channels_last) {  // the stronger augmentations, on the interleaved layout
      o.crop_scale = 0.5;
      o.erasing = 0.25;
    }
    const auto r = app::run_training(o);
    const auto c = weights::load_checkpoint(r.last_checkpoint);
    EXPECT_EQ(c.state.precision, precision);
    EXPECT_EQ(c.state.channels_last, o.runtime.channels_last);
    const TrainOptions recorded = options_from_json(c.state.options_json);
    EXPECT_EQ(recorded.runtime.precision, precision);
    EXPECT_EQ(recorded.crop_scale, o.crop_scale);
    EXPECT_EQ(recorded.erasing, o.erasing);
    // BatchNorm statistics and weights stay fp32 under bf16 autocast
    for (const auto& t : weights::model_state_dict(*c.model))
      if (t.tensor.is_floating_point()) {
        EXPECT_EQ(t.tensor.scalar_type(), torch::kFloat32) << t.name;
      }
  }
  TrainOptions o = tiny(data, tmp / "fp16");
  o.runtime.precision = "fp16";
  o.runtime.device = "cpu";
  EXPECT_ERROR_CONTAINS(app::run_training(o), "--precision fp16 needs a CUDA device")
      << "fp16 on a CPU";
}

TEST(Training, BadOptionsAreErrors) {
  test::TempDir tmp;
  const fs::path data = synth(tmp.path(), 8, 2);
  TrainOptions o = tiny(data, tmp / "x");
  o.monitor = "f1";
  EXPECT_THROW(app::run_training(o), Error);
  o = tiny(data, tmp / "x");
  o.model = "vgg16";
  EXPECT_THROW(app::run_training(o), Error);
  o = tiny(data, tmp / "x");
  o.loss = "ce";
  o.load_checkpoint = "";
  o.pretrained = (tmp / "missing.pth").string();
  EXPECT_THROW(app::run_training(o), Error);
}

}  // namespace
}  // namespace mura::train
