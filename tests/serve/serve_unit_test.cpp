// The service's pieces without HTTP: the dynamic batcher (batch formation, the bounded queue,
// deadlines, Grad-CAM alone, drain on stop, batched == unbatched on a real model), the KServe
// v2 message parser (every error names its field), base64, the Prometheus text, and the
// small security helpers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../test_util.h"
#include "mura/models/inference.h"
#include "mura/models/registry.h"
#include "mura/report/html.h"
#include "mura/serve/batcher.h"
#include "mura/serve/http.h"
#include "mura/serve/kserve.h"
#include "mura/serve/metrics.h"
#include "mura/util/error.h"

namespace mura::serve {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// A fake model: probability = the image's first value; records every batch size.
struct Recorder {
  std::mutex mutex;
  std::vector<int> batches;
  std::vector<float> seen;
  BatchModel model() {
    BatchModel m;
    m.predict = [this](const torch::Tensor& x) {
      std::lock_guard<std::mutex> lock(mutex);
      batches.push_back(static_cast<int>(x.size(0)));
      std::vector<double> out;
      for (int64_t i = 0; i < x.size(0); ++i) {
        out.push_back(x[i][0][0][0].item<float>());
        seen.push_back(x[i][0][0][0].item<float>());
      }
      return out;
    };
    m.explain = [this](const torch::Tensor& x) {
      std::lock_guard<std::mutex> lock(mutex);
      batches.push_back(-static_cast<int>(x.size(0)));  // negative: a Grad-CAM pass
      JobResult r;
      r.probability = x[0][0][0][0].item<float>();
      r.cam = torch::ones({2, 2});
      return r;
    };
    return m;
  }
};

torch::Tensor image(float v) {
  return torch::full({3, 4, 4}, v);
}
Clock::time_point later() {
  return Clock::now() + 10s;
}

TEST(Batcher, RequestsArrivingTogetherShareAForwardPassOfAtMostMaxBatch) {
  Recorder rec;
  Batcher b(rec.model(), {/*max_batch=*/4, /*max_delay_ms=*/200, /*queue=*/64});
  std::vector<std::future<JobResult>> fs;
  for (int i = 0; i < 10; ++i)
    fs.push_back(*b.submit(image(static_cast<float>(i)), false, later()));
  for (int i = 0; i < 10; ++i) {
    const JobResult r = fs[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(r.probability, i) << "each request gets its own image's result";
    EXPECT_GE(r.batch_size, 1);
    EXPECT_LE(r.batch_size, 4);
  }
  std::lock_guard<std::mutex> lock(rec.mutex);
  EXPECT_EQ(rec.batches, (std::vector<int>{4, 4, 2}))
      << "full batches first, the rest after the delay";
}

TEST(Batcher, AFullQueueRefusesInsteadOfWaiting) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  BatchModel m;
  m.predict = [gate](const torch::Tensor& x) {
    gate.wait();
    return std::vector<double>(static_cast<std::size_t>(x.size(0)), 0.5);
  };
  Batcher b(std::move(m), {/*max_batch=*/1, /*max_delay_ms=*/0, /*queue=*/2});
  auto first = b.submit(image(0), false, later());  // taken by the worker, which blocks
  ASSERT_TRUE(first);
  for (int i = 0; i < 100 && b.depth() != 0; ++i) std::this_thread::sleep_for(5ms);
  auto second = b.submit(image(1), false, later());
  auto third = b.submit(image(2), false, later());
  ASSERT_TRUE(second && third);
  EXPECT_EQ(b.depth(), 2u);
  EXPECT_FALSE(b.submit(image(3), false, later())) << "queue of 2 is full";
  release.set_value();
  EXPECT_EQ(first->get().probability, 0.5);
  EXPECT_EQ(third->get().probability, 0.5);
}

TEST(Batcher, ARequestPastItsDeadlineIsDroppedBeforeCompute) {
  Recorder rec;
  Batcher b(rec.model(), {8, 0, 64});
  auto stale = b.submit(image(7), false, Clock::now() - 1ms);
  auto fresh = b.submit(image(3), false, later());
  const JobResult s = stale->get(), f = fresh->get();
  EXPECT_TRUE(s.expired);
  EXPECT_FALSE(f.expired);
  EXPECT_EQ(f.probability, 3);
  std::lock_guard<std::mutex> lock(rec.mutex);
  EXPECT_EQ(rec.seen, (std::vector<float>{3})) << "the stale image never reached the model";
}

TEST(Batcher, GradCamRequestsRunAloneAndInOrder) {
  Recorder rec;
  Batcher b(rec.model(), {8, 100, 64});
  auto a = b.submit(image(1), false, later());
  auto c = b.submit(image(2), true, later());
  auto d = b.submit(image(3), false, later());
  EXPECT_EQ(a->get().probability, 1);
  const JobResult cam = c->get();
  EXPECT_EQ(cam.probability, 2);
  EXPECT_EQ(cam.batch_size, 1);
  EXPECT_TRUE(cam.cam.defined());
  EXPECT_EQ(d->get().probability, 3);
  std::lock_guard<std::mutex> lock(rec.mutex);
  EXPECT_EQ(rec.batches, (std::vector<int>{1, -1, 1}));
}

TEST(Batcher, StopFinishesEveryQueuedRequestThenRefusesNewOnes) {
  Recorder rec;
  auto b = std::make_unique<Batcher>(rec.model(), BatcherOptions{2, 1000, 64});
  std::vector<std::future<JobResult>> fs;
  for (int i = 0; i < 5; ++i)
    fs.push_back(*b->submit(image(static_cast<float>(i)), false, later()));
  b->stop();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].get().probability, i);
  EXPECT_FALSE(b->submit(image(9), false, later()));
}

TEST(Batcher, AModelErrorReachesEveryRequestOfItsBatch) {
  BatchModel m;
  m.predict = [](const torch::Tensor&) -> std::vector<double> { throw Error("boom"); };
  Batcher b(std::move(m), {4, 50, 64});
  auto x = b.submit(image(0), false, later());
  auto y = b.submit(image(1), false, later());
  EXPECT_EQ(x->get().error, "boom");
  EXPECT_EQ(y->get().error, "boom");
}

TEST(Batcher, BatchedEqualsUnbatchedOnAResNet) {
  torch::manual_seed(0);
  auto model = models::create_model("resnet18", 1);
  model->eval();
  std::vector<std::shared_ptr<models::ClassifierImpl>> ms{model};
  BatchModel m;
  m.predict = [&ms](const torch::Tensor& x) {
    torch::InferenceMode guard;
    const auto p = models::ensemble_probabilities(ms, x, {}).contiguous();
    return std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  };
  std::vector<torch::Tensor> images;
  for (int i = 0; i < 6; ++i) images.push_back(torch::randn({3, 64, 64}));
  auto run = [&](int max_batch) {
    Batcher b(m, {max_batch, 200, 64});
    std::vector<std::future<JobResult>> fs;
    for (const auto& im : images) fs.push_back(*b.submit(im, false, later()));
    std::vector<JobResult> out;
    for (auto& f : fs) out.push_back(f.get());
    return out;
  };
  const auto batched = run(8), single = run(1);
  EXPECT_EQ(batched[0].batch_size, 6);
  EXPECT_EQ(single[0].batch_size, 1);
  for (std::size_t i = 0; i < images.size(); ++i)
    EXPECT_NEAR(batched[i].probability, single[i].probability, 1e-6) << "image " << i;
}

// ---------------------------------------------------------------- KServe v2 messages

TEST(KServe, ParsesBytesAndFp32Inputs) {
  const std::string png = "\x89PNG fake bytes";
  const json bytes_req = {{"id", "r1"},
                          {"inputs",
                           {{{"name", "image"},
                             {"datatype", "BYTES"},
                             {"shape", {1}},
                             {"data", {report::base64_encode(png)}}}}}};
  const auto a = parse_infer_request(bytes_req.dump(), 1000);
  EXPECT_EQ(a.id, "r1");
  ASSERT_EQ(a.inputs.size(), 1u);
  EXPECT_EQ(a.inputs[0].bytes, std::vector<std::string>{png});
  const json fp_req = json::parse(R"({"inputs": [{"name": "pixels", "datatype": "FP32",
      "shape": [1, 3, 1, 2], "data": [[[[1, 2]], [[3, 4]], [[5, 6]]]]}]})");
  const auto b = parse_infer_request(fp_req.dump(), 1000);
  EXPECT_EQ(b.inputs[0].fp32, (std::vector<float>{1, 2, 3, 4, 5, 6})) << "nested data, row-major";
  EXPECT_EQ(b.inputs[0].shape, (std::vector<int64_t>{1, 3, 1, 2}));
}

TEST(KServe, EveryMalformedRequestNamesItsField) {
  auto err = [](const std::string& body) {
    return test::error_message([&] { parse_infer_request(body, 1000); });
  };
  EXPECT_TRUE(test::contains(err("{not json"), "not JSON"));
  EXPECT_TRUE(test::contains(err("[]"), "JSON object"));
  EXPECT_TRUE(test::contains(err(R"({"inputs": []})"), "inputs"));
  EXPECT_TRUE(test::contains(err(R"({"id": 3, "inputs": [{}]})"), "id: must be a string"));
  EXPECT_TRUE(
      test::contains(err(R"({"inputs": [{"name": "image", "datatype": "BYTES", "data": []}]})"),
                     "inputs[0].shape"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1], "data": ["eA=="]}]})"),
      "inputs[0].datatype"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["@@@@"]}]})"),
      "inputs[0].data[0]: not base64"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": ["eA=="]}]})"),
      "inputs[0].data: 1 elements"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 3, 1, 1], "data": [1, 2]}]})"),
      "inputs[0].data: 2 numbers"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 3, 1, 1], "data": [1, "x", 3]}]})"),
      "numbers only"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [100, 3, 100, 100], "data": []}]})"),
      "too many elements"));
  EXPECT_TRUE(test::contains(
      err(R"({"inputs": [{"name": "logits", "datatype": "FP32", "shape": [1], "data": [1]}]})"),
      "unknown input 'logits'"));
}

TEST(KServe, ResponseAndMetadataHaveTheProtocolsShapes) {
  const json r = json::parse(infer_response("mura", "1", "abc", {0.25, 0.75}));
  EXPECT_EQ(r["model_name"], "mura");
  EXPECT_EQ(r["id"], "abc");
  EXPECT_EQ(r["outputs"][0]["name"], "probability");
  EXPECT_EQ(r["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(r["outputs"][0]["shape"], json::array({2}));
  EXPECT_EQ(r["outputs"][0]["data"], json::array({0.25, 0.75}));
  EXPECT_FALSE(json::parse(infer_response("mura", "1", "", {0.5})).contains("id"));
  const json m = json::parse(model_metadata("mura", "1", "mura-libtorch", 320));
  EXPECT_EQ(m["inputs"][1]["shape"], json::array({-1, 3, 320, 320}));
  EXPECT_EQ(m["outputs"][0]["shape"], json::array({-1}));
}

TEST(KServe, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    EXPECT_EQ(base64_decode(report::base64_encode(bytes), "x"), bytes) << n;
    bytes.push_back(static_cast<char>(n * 37));
  }
  EXPECT_EQ(base64_decode("aGk", "x"), "hi") << "padding is optional";
  EXPECT_ERROR_CONTAINS(base64_decode("a", "f"), "f: not base64");
  EXPECT_ERROR_CONTAINS(base64_decode("aGk====", "f"), "f: not base64");
}

// ---------------------------------------------------------------- metrics, security helpers

TEST(Metrics, PrometheusTextCountsAndCumulativeBuckets) {
  Metrics m;
  m.request("/predict", 200, 0.004);
  m.request("/predict", 200, 0.2);
  m.request("/predict", 413, 0.0001);
  m.batch(3, 0.05);
  m.set_queue_depth([] { return std::size_t{5}; });
  const std::string t = m.text();
  EXPECT_TRUE(test::contains(t, "mura_requests_total{route=\"/predict\",status=\"200\"} 2\n"));
  EXPECT_TRUE(test::contains(t, "mura_requests_total{route=\"/predict\",status=\"413\"} 1\n"));
  EXPECT_TRUE(
      test::contains(t, "mura_request_seconds_bucket{route=\"/predict\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(test::contains(t, "mura_request_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(test::contains(t, "mura_request_seconds_count{route=\"/predict\"} 3\n"));
  EXPECT_TRUE(test::contains(
      t, "mura_batch_size_bucket{le=\"2\"} 0\nmura_batch_size_bucket{le=\"4\"} 1\n"));
  EXPECT_TRUE(test::contains(t, "mura_queue_depth 5\n"));
  EXPECT_TRUE(test::contains(t, "# TYPE mura_inference_seconds histogram"));
  EXPECT_EQ(m.requests("/predict", 200), 2u);
}

TEST(HttpHelpers, LoopbackNamesAndConstantTimeComparison) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1"})
    EXPECT_TRUE(is_loopback_host(h)) << h;
  for (const char* h : {"0.0.0.0", "10.0.0.1", "evil.example", "127.0.0.1.evil.example", "", "::"})
    EXPECT_FALSE(is_loopback_host(h)) << h;
  EXPECT_TRUE(equal_constant_time("secret-token-123", "secret-token-123"));
  EXPECT_FALSE(equal_constant_time("secret-token-123", "secret-token-124"));
  EXPECT_FALSE(equal_constant_time("secret-token-123", "secret-token-12"));
  EXPECT_FALSE(equal_constant_time("", "x"));
}

}  // namespace
}  // namespace mura::serve
