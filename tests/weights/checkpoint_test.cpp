#include "mura/weights/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../test_util.h"
#include "mura/models/registry.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/weights/torchvision.h"

namespace mura::weights {
namespace {
namespace fs = std::filesystem;

void expect_load_error(const fs::path& file, const std::string& fragment) {
  EXPECT_ERROR_CONTAINS(load_checkpoint(file), file.string(), fragment);
}

ModelSpec spec_for(const std::string& arch) {
  ModelSpec s;
  s.arch = arch;
  s.num_outputs = 1;
  s.image_size = 320;
  s.threshold = 0.42;
  return s;
}

TEST(Checkpoint, RoundTripKeepsSpecStateAndEveryTensor) {
  test::TempDir tmp;
  torch::manual_seed(5);
  auto m = models::create_model("densenet121", 1);
  TrainingState st;
  st.epoch = 7;
  st.global_step = 1234;
  st.best_metric_name = "val_study_auc";
  st.best_metric = 0.8765;
  st.options_json = R"({"lr":0.0001,"model":"densenet121"})";
  st.scheduler_json = R"({"kind":"plateau","bad_epochs":1})";
  save_checkpoint(tmp / "c.ckpt", spec_for("densenet121"), *m, st);
  const Checkpoint c = load_checkpoint(tmp / "c.ckpt");
  EXPECT_EQ(c.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(c.mura_version, MURA_VERSION);
  EXPECT_EQ(c.spec.arch, "densenet121");
  EXPECT_EQ(c.spec.image_size, 320);
  EXPECT_DOUBLE_EQ(c.spec.threshold, 0.42);
  EXPECT_FLOAT_EQ(c.spec.mean[1], 0.456f);
  EXPECT_EQ(c.state.epoch, 7);
  EXPECT_EQ(c.state.global_step, 1234);
  EXPECT_EQ(c.state.best_metric_name, "val_study_auc");
  EXPECT_DOUBLE_EQ(c.state.best_metric, 0.8765);
  EXPECT_TRUE(test::contains(c.state.options_json, "\"lr\":0.0001"));
  const auto a = model_state_dict(*m), b = model_state_dict(*c.model);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(torch::equal(a[i].tensor, b[i].tensor)) << a[i].name;
  }
  EXPECT_TRUE(c.optimizer_state.empty());
  EXPECT_FALSE(c.rng_state.defined());
}

TEST(Checkpoint, OptimizerAndRngStateResumeExactly) {
  test::TempDir tmp;
  torch::manual_seed(9);
  auto m = models::create_model("resnet18", 1);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-3));
  const auto x = torch::randn({2, 3, 32, 32});
  auto step = [&](models::ClassifierImpl& model, torch::optim::Optimizer& o) {
    o.zero_grad();
    model.forward(x).sum().backward();
    o.step();
  };
  step(*m, opt);
  save_checkpoint(tmp / "c.ckpt", spec_for("resnet18"), *m, {}, &opt, /*save_rng=*/true);
  const auto r1 = torch::rand({4});  // what the generator gives after the save

  Checkpoint c = load_checkpoint(tmp / "c.ckpt");
  ASSERT_FALSE(c.optimizer_state.empty());
  torch::optim::Adam opt2(c.model->parameters(), torch::optim::AdamOptions(1e-3));
  restore_optimizer(c, opt2);
  step(*m, opt);
  step(*c.model, opt2);
  EXPECT_TRUE(torch::equal(m->named_parameters()["conv1.weight"],
                           c.model->named_parameters()["conv1.weight"]))
      << "the second Adam step must match after a restore (moments restored)";
  ASSERT_TRUE(c.rng_state.defined());
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  gen.set_state(c.rng_state);
  EXPECT_TRUE(torch::equal(torch::rand({4}), r1));
}

TEST(Checkpoint, TruncatedFilesAreRejectedAtEveryOffset) {
  test::TempDir tmp;
  auto m = models::create_model("resnet18", 1);
  save_checkpoint(tmp / "c.ckpt", spec_for("resnet18"), *m);
  const std::string bytes = read_file(tmp / "c.ckpt");
  for (std::size_t cut : {std::size_t{3}, std::size_t{100}, bytes.size() / 3, bytes.size() / 2,
                          bytes.size() - 100, bytes.size() - 1}) {
    const fs::path f = tmp / ("cut" + std::to_string(cut) + ".ckpt");
    test::write_text(f, bytes.substr(0, cut));
    EXPECT_THROW(load_checkpoint(f), Error) << "cut at " << cut;
  }
  expect_load_error(tmp / ("cut" + std::to_string(bytes.size() / 2) + ".ckpt"),
                    "truncated or damaged");
}

TEST(Checkpoint, ForeignFilesAreRejectedByName) {
  test::TempDir tmp;
  test::write_png(tmp / "image.png");
  expect_load_error(tmp / "image.png", "not a mura checkpoint (not a zip archive");
  expect_load_error(tmp / "missing.ckpt", "cannot open");
  // a LibTorch archive that is not a mura checkpoint
  torch::serialize::OutputArchive other;
  other.write("weights", torch::zeros({3}));
  other.save_to((tmp / "other.pt").string());
  expect_load_error(tmp / "other.pt", "without mura_format_version");
}

TEST(Checkpoint, NewerFormatVersionIsRefusedByName) {
  test::TempDir tmp;
  torch::serialize::OutputArchive a;
  a.write("mura_format_version", c10::IValue(int64_t{99}));
  a.write("meta", c10::IValue(std::string("{}")));
  a.save_to((tmp / "future.ckpt").string());
  expect_load_error(tmp / "future.ckpt", "format_version 99 is newer than this mura supports (2)");
}

TEST(Checkpoint, SaveReplacesAtomically) {
  test::TempDir tmp;
  auto m = models::create_model("resnet18", 1);
  save_checkpoint(tmp / "c.ckpt", spec_for("resnet18"), *m);
  TrainingState st;
  st.epoch = 2;
  save_checkpoint(tmp / "c.ckpt", spec_for("resnet18"), *m, st);
  EXPECT_EQ(load_checkpoint(tmp / "c.ckpt").state.epoch, 2);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_THROW(save_checkpoint(tmp / "d.ckpt", spec_for("resnet50"), *m), Error);
}

TEST(Checkpoint, TemperatureAndCalibrationRecordRoundTripAndResave) {
  test::TempDir tmp;
  torch::manual_seed(6);
  auto m = models::create_model("resnet18", 1);
  ModelSpec spec = spec_for("resnet18");
  spec.temperature = 2.5;
  spec.threshold = 0.3125;
  spec.calibration.threshold_rule = "sensitivity:0.9";
  spec.calibration.data = "/data/MURA-v1.1, valid split";
  spec.calibration.studies = 120;
  spec.calibration.abnormal_studies = 50;
  spec.calibration.images = 300;
  spec.calibration.sensitivity = 0.92;
  spec.calibration.sensitivity_lower = 0.84;
  spec.calibration.sensitivity_upper = 0.98;
  spec.calibration.specificity = 0.71;
  spec.calibration.bootstrap = 1000;
  spec.calibration.temperature_fitted = true;
  spec.calibration.nll_before = 0.9;
  spec.calibration.nll_after = 0.5;
  TrainingState st;
  st.epoch = 3;
  save_checkpoint(tmp / "c.ckpt", spec, *m, st);
  const Checkpoint c = load_checkpoint(tmp / "c.ckpt");
  EXPECT_DOUBLE_EQ(c.spec.temperature, 2.5);
  EXPECT_DOUBLE_EQ(c.model->temperature(), 2.5) << "the model carries the spec's temperature";
  EXPECT_EQ(c.spec.calibration.threshold_rule, "sensitivity:0.9");
  EXPECT_EQ(c.spec.calibration.studies, 120u);
  EXPECT_DOUBLE_EQ(c.spec.calibration.sensitivity_upper, 0.98);
  EXPECT_TRUE(std::isnan(c.spec.calibration.specificity_lower)) << "NaN stays NaN (null)";
  EXPECT_TRUE(c.spec.calibration.temperature_fitted);
  const std::string d = describe_threshold(c.spec);
  EXPECT_TRUE(test::contains(d,
                             "0.3125 (sensitivity:0.9 on /data/MURA-v1.1, valid split, 120 "
                             "studies: sensitivity 0.920 [0.840, 0.980], specificity 0.710"));
  EXPECT_TRUE(test::contains(d, "temperature 2.5000"));
  // written again with another spec: tensors and state as they were
  ModelSpec plain = c.spec;
  plain.temperature = 1.0;
  plain.calibration = {};
  save_checkpoint_with_spec(tmp / "c.ckpt", c, plain);
  const Checkpoint again = load_checkpoint(tmp / "c.ckpt");
  EXPECT_DOUBLE_EQ(again.spec.temperature, 1.0);
  EXPECT_TRUE(again.spec.calibration.empty());
  EXPECT_EQ(again.state.epoch, 3);
  EXPECT_EQ(describe_threshold(again.spec), "0.3125 (not chosen on data)");
  const auto a = model_state_dict(*m), b = model_state_dict(*again.model);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].tensor, b[i].tensor));
  EXPECT_ERROR_CONTAINS(c.model->set_temperature(0.0), "finite number > 0");
}

TEST(Checkpoint, AVersionOneFileReadsAsTemperatureOne) {
  // what mura wrote before temperature scaling existed: format 1, no temperature in the spec
  test::TempDir tmp;
  auto m = models::create_model("resnet18", 1);
  torch::serialize::OutputArchive a, w;
  a.write("mura_format_version", c10::IValue(int64_t{1}));
  a.write("meta", c10::IValue(std::string(
                      R"({"mura_version":"0.1.0","created":"2026-10-01T00:00:00Z","spec":)"
                      R"({"arch":"resnet18","num_outputs":1,"image_size":64,)"
                      R"("mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"threshold":0.5},)"
                      R"("state":{"epoch":1,"global_step":2,"best_metric_name":"",)"
                      R"("best_metric":null,"options":{},"scheduler":{},"precision":"fp32"}})")));
  for (const auto& p : m->named_parameters()) w.write(p.key(), p.value().detach());
  for (const auto& b : m->named_buffers()) w.write(b.key(), b.value(), true);
  a.write("model", w);
  a.save_to((tmp / "v1.ckpt").string());
  const Checkpoint c = load_checkpoint(tmp / "v1.ckpt");
  EXPECT_EQ(c.format_version, 1);
  EXPECT_DOUBLE_EQ(c.spec.temperature, 1.0);
  EXPECT_TRUE(c.spec.calibration.empty());
}

}  // namespace
}  // namespace mura::weights
