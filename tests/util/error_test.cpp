// Errors (check vs internal assert, context at boundaries), name tables, sinks, the runtime.
#include "mura/util/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <new>
#include <opencv2/core.hpp>
#include <string>

#include "../test_util.h"
#include "mura/data/loader.h"
#include "mura/explain/gradcam.h"
#include "mura/train/loss.h"
#include "mura/train/schedule.h"
#include "mura/util/names.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"

namespace mura {
namespace {

using test::error_message;

TEST(Errors, CheckThrowsErrorAssertThrowsInternalErrorWithTheLine) {
  EXPECT_THROW(MURA_CHECK(1 + 1 == 3, "--epochs must be at least 1"), Error);
  EXPECT_EQ(error_message([] { MURA_CHECK(false, "--epochs must be at least 1"); }),
            "--epochs must be at least 1");
  EXPECT_NO_THROW(MURA_CHECK(true, "never"));
  try {
    MURA_ASSERT(2 < 1, "sizes disagree");
    FAIL() << "no throw";
  } catch (const InternalError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("error_test.cpp:"), std::string::npos) << m;
    EXPECT_NE(m.find("assertion '2 < 1' failed: sizes disagree"), std::string::npos) << m;
  }
}

TEST(Errors, BoundariesAddContextAndKeepTheKind) {
  EXPECT_THROW(at_boundary("evaluating run/best.ckpt", [] { throw Error("x.csv:3: bad label"); }),
               Error);
  EXPECT_EQ(error_message([] {
              at_boundary("evaluating run/best.ckpt", [] { throw Error("x.csv:3: bad label"); });
            }),
            "evaluating run/best.ckpt: x.csv:3: bad label");
  EXPECT_THROW(at_boundary("a", [] { MURA_ASSERT(false, ""); }), InternalError);
  // A foreign exception (OpenCV's, c10's) becomes an InternalError naming what mura did.
  EXPECT_THROW(at_boundary("decoding x.png",
                           [] { throw cv::Exception(-215, "assertion", "imdecode", "f.cpp", 1); }),
               InternalError);
  EXPECT_NE(error_message([] {
              at_boundary("decoding x.png", [] { throw std::runtime_error("boom"); });
            }).find("decoding x.png: boom"),
            std::string::npos);
  // Out of memory is the machine's limit, not a bug; a folder that cannot be made names it.
  EXPECT_THROW(at_boundary("training", [] { throw std::bad_alloc(); }), Error);
  EXPECT_THROW(at_boundary("writing",
                           [] {
                             throw std::filesystem::filesystem_error(
                                 "cannot create", "/ro/x",
                                 std::make_error_code(std::errc::read_only_file_system));
                           }),
               Error);
  EXPECT_EQ(at_boundary("adding", [] { return 41 + 1; }), 42);
}

TEST(NameTables, ParseIsCaseAndUnderscoreBlindAndNamesTheFlag) {
  EXPECT_EQ(train::loss_names().parse("weighted_bce"), train::LossKind::WeightedBce);
  EXPECT_EQ(train::loss_names().parse("Weighted-BCE"), train::LossKind::WeightedBce);
  EXPECT_EQ(train::loss_names().canonical("BCE"), "bce");
  EXPECT_EQ(train::loss_name(train::LossKind::Ce), std::string("ce"));
  EXPECT_EQ(error_message([] { train::loss_names().parse("hinge"); }),
            "--loss: expected weighted-bce, bce or ce, got 'hinge'");
  EXPECT_EQ(explain::parse_cam_method("grad-cam++"), explain::CamMethod::GradCamPlusPlus);
  EXPECT_EQ(data::parse_cache_mode("memory"), data::CacheMode::Memory);
  EXPECT_THROW(train::parse_scheduler("step"), Error);
  EXPECT_EQ(join_choices({"a"}), "a");
  EXPECT_EQ(join_choices({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(device_names().choices(), (std::vector<std::string>{"auto", "cpu", "cuda"}));
}

TEST(Sinks, RecordingKeepsNullDropsRankZeroFilters) {
  RecordingSink rec;
  Sink& s = rec;
  s.info("cpu, fp32");
  s.warn("skipped 1 entry");
  ProgressEvent p;
  p.done = 1;
  p.total = 2;
  s.progress(p);
  EpochEvent e;
  e.epoch = 1;
  s.epoch(e);
  EXPECT_EQ(rec.infos, std::vector<std::string>{"cpu, fp32"});
  EXPECT_EQ(rec.warnings, std::vector<std::string>{"skipped 1 entry"});
  EXPECT_EQ(rec.progress_events.size(), 1u);
  EXPECT_EQ(rec.epochs.size(), 1u);
  null_sink().info("dropped");
  RecordingSink inner;
  RankZeroSink rank1(inner, 1);
  rank1.info("banner");
  rank1.epoch(e);
  rank1.warn("disk full");
  EXPECT_TRUE(inner.infos.empty());
  EXPECT_TRUE(inner.epochs.empty());
  EXPECT_EQ(inner.warnings, std::vector<std::string>{"rank 1: disk full"});
  RankZeroSink rank0(inner, 0);
  rank0.info("banner");
  EXPECT_EQ(inner.infos, std::vector<std::string>{"banner"});
}

TEST(Runtime, ResolvesOnceAndRefusesWhatTheMachineCannotDo) {
  RuntimeOptions o;
  o.device = "cpu";
  o.precision = "fp32";
  o.threads = 1;
  o.workers = 0;
  const Runtime r = resolve_runtime(o);
  EXPECT_TRUE(r.device.is_cpu());
  EXPECT_EQ(r.precision.precision, Precision::FP32);
  EXPECT_EQ(r.threads.compute_threads, 1);
  EXPECT_EQ(r.threads.loader_workers, 0);
  EXPECT_NE(r.describe().find("cpu, fp32"), std::string::npos) << r.describe();
  o.precision = "fp16";
  EXPECT_THROW(resolve_runtime(o), Error);
  o.precision = "fp32";
  o.device = "tpu";
  EXPECT_EQ(error_message([&] { resolve_runtime(o); }),
            "--device: expected auto, cpu or cuda, got 'tpu'");
}

}  // namespace
}  // namespace mura
