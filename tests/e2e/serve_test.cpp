// `mura serve` end to end: a real server process on a free loopback port, driven over HTTP.
// Every route, the KServe v2 shapes, raw + multipart + study uploads, Grad-CAM, auth, the
// Host check, 411/413/415/400/401/403/404/503/504 with their JSON bodies, the request id,
// metrics counters, batched == unbatched, drain on SIGTERM, DICOM uploads, and logs that
// carry no file names.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "../test_util.h"
#include "mura/data/image.h"
#include "mura/data/transforms.h"
#include "mura/report/html.h"
#include "mura/serve/kserve.h"
#include "mura/util/atomic_file.h"

namespace mura {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

/// A `mura serve` child process; its stdout's "listening on" line gives the port.
class Server {
 public:
  Server(const std::string& args, const fs::path& log) : log_(log) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      close(out[0]);
      close(out[1]);
      const std::string cmd = "exec " + std::string(MURA_BINARY) + " serve --port 0 " + args;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string line;
    const auto until = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char c;
      if (read(out[0], &c, 1) != 1) break;  // exited
      if (c != '\n') {
        line += c;
        continue;
      }
      const auto at = line.rfind(':');
      if (line.rfind("listening on http://", 0) == 0 && at != std::string::npos) {
        port_ = std::stoi(line.substr(at + 1));
        break;
      }
      line.clear();
    }
    close(out[0]);
  }
  ~Server() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  /// Sends `sig` and waits for the exit code (-1: killed after 60 s).
  int signal_and_wait(int sig) {
    kill(pid_, sig);
    return wait_exit();
  }
  int wait_exit() {
    for (int i = 0; i < 600; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(100ms);
    }
    return -1;
  }
  std::string log() const { return read_file(log_); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
};

/// Sends raw bytes, returns the whole answer (the server closes or 5 s pass).
std::string raw_http(int port, const std::string& request) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(s);
    return "";
  }
  (void)!write(s, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = read(s, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos) {
      const auto cl = out.find("Content-Length: ");
      const auto head = out.find("\r\n\r\n") + 4;
      if (cl != std::string::npos &&
          out.size() >= head + std::stoul(out.substr(cl + 16, out.find("\r\n", cl) - cl - 16)))
        break;
    }
  }
  close(s);
  return out;
}

int status_of(const std::string& raw) {
  return raw.size() > 12 ? std::stoi(raw.substr(9, 3)) : 0;
}

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    // One small trained model for every test process (CTest runs each test on its own):
    // made once per build of `mura` under a lock, beside the binary, and reused.
    const fs::path fixture = fs::path(MURA_BINARY).parent_path() / "serve-fixture";
    const int lock = open((fixture.string() + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(lock, 0);
    flock(lock, LOCK_EX);
    const bool fresh =
        fs::exists(fixture / "run/best.ckpt") &&
        fs::last_write_time(fixture / "run/best.ckpt") > fs::last_write_time(fs::path(MURA_BINARY));
    if (!fresh) {
      fs::remove_all(fixture);
      const auto s = test::run_mura("synth --output-dir " + (fixture / "synth").string() +
                                    " --patients 12 --seed 3 --min-size 64 --max-size 96");
      const auto t = test::run_mura(
          "train --data-dir " + (fixture / "synth").string() +
          " --model resnet18 --img-size 64 --batch-size 8 --epochs 1 --max-steps 3 "
          "--val-source valid --scheduler none --workers 0 --precision fp32 --output-dir " +
          (fixture / "run").string());
      if (s.exit_code != 0 || t.exit_code != 0) fs::remove_all(fixture);
      ASSERT_EQ(s.exit_code, 0) << s.out;
      ASSERT_EQ(t.exit_code, 0) << t.out;
    }
    flock(lock, LOCK_UN);
    close(lock);
    checkpoint_ = new std::string((fixture / "run/best.ckpt").string());
    for (const auto& e : fs::recursive_directory_iterator(fixture / "synth"))
      if (e.path().extension() == ".png") images_.push_back(e.path());
    std::sort(images_.begin(), images_.end());
    ASSERT_GE(images_.size(), 8u);
    images_.resize(8);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    delete checkpoint_;
    checkpoint_ = nullptr;
  }
  static std::string checkpoint() { return *checkpoint_; }
  static std::string png(std::size_t i) { return read_file(images_[i]); }
  static fs::path tmp(const std::string& name) { return *dir_ / name; }

  static test::TempDir* dir_;
  static std::string* checkpoint_;
  static std::vector<fs::path> images_;
};
test::TempDir* Serve::dir_ = nullptr;
std::string* Serve::checkpoint_ = nullptr;
std::vector<fs::path> Serve::images_;

json body_of(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no answer";
  if (!r) return json();
  return json::parse(r->body);
}

TEST_F(Serve, EveryRouteAnswersWithTheProtocolsShapes) {
  Server s("--checkpoint " + checkpoint() + " --gradcam --precision fp32 --max-delay-ms 20",
           tmp("routes.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  auto c = s.client();
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  const json server = body_of(c.Get("/v2"));
  EXPECT_EQ(server["name"], "mura");
  EXPECT_TRUE(server.contains("version"));
  const json model = body_of(c.Get("/v2/models/mura"));
  EXPECT_EQ(model["name"], "mura");
  EXPECT_EQ(model["inputs"][0]["name"], "image");
  EXPECT_EQ(model["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(model["inputs"][1]["shape"], json::array({-1, 3, 64, 64}));
  EXPECT_EQ(model["outputs"][0]["name"], "probability");
  EXPECT_EQ(model["outputs"][0]["shape"], json::array({-1}));
  EXPECT_EQ(c.Get("/v2/models/mura/ready")->status, 200);
  auto missing = c.Get("/v2/models/other");
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(
      test::contains(body_of(missing)["error"].get<std::string>(), "no model by that name"));
  auto nowhere = c.Get("/no/such/route");
  EXPECT_EQ(nowhere->status, 404);
  EXPECT_TRUE(body_of(nowhere).contains("error"));

  // The page: self-contained, with a CSP that forbids fetching anything from elsewhere.
  auto page = c.Get("/");
  EXPECT_EQ(page->status, 200);
  EXPECT_TRUE(test::contains(page->get_header_value("Content-Type"), "text/html"));
  EXPECT_TRUE(test::contains(page->body, "type=\"file\""));
  EXPECT_FALSE(test::contains(page->body, "src=\"http"));
  EXPECT_FALSE(test::contains(page->body, "href=\"http"));
  EXPECT_TRUE(
      test::contains(page->get_header_value("Content-Security-Policy"), "default-src 'none'"));

  // /predict, raw body: the request id is echoed; the model is named.
  httplib::Headers h{{"X-Request-Id", "abc-123"}};
  auto one = c.Post("/predict", h, png(0), "image/png");
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_EQ(one->get_header_value("X-Request-Id"), "abc-123");
  const json p0 = body_of(one);
  EXPECT_EQ(p0["request_id"], "abc-123");
  const double prob0 = p0["study"]["probability"];
  EXPECT_GE(prob0, 0.0);
  EXPECT_LE(prob0, 1.0);
  EXPECT_EQ(p0["images"][0]["probability"], prob0);
  EXPECT_EQ(p0["study"]["verdict"], prob0 >= p0["threshold"].get<double>() ? "abnormal" : "normal");
  EXPECT_EQ(p0["model"]["architecture"], "resnet18");
  EXPECT_EQ(p0["model"]["sha256"].get<std::string>().size(), 64u);
  for (const char* k : {"decode_ms", "queue_ms", "model_ms", "total_ms"})
    EXPECT_TRUE(p0["timings"].contains(k)) << k;
  // A generated id when the client sends none or an unsafe one.
  auto gen = c.Post("/predict", httplib::Headers{{"X-Request-Id", "bad id\twith tab"}}, png(0),
                    "image/png");
  EXPECT_FALSE(gen->get_header_value("X-Request-Id").empty());
  EXPECT_NE(gen->get_header_value("X-Request-Id"), "bad id\twith tab");

  // The same image through `mura predict`: the same probability.
  const auto cli = test::run_mura("predict " + images_[0].string() + " --checkpoint " +
                                  checkpoint() + " --precision fp32 --json");
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  const json pj = json::parse(cli.out.substr(cli.out.find('{')));
  EXPECT_NEAR(pj["images"][0]["probability"].get<double>(), prob0, 1e-5);

  // Multipart: two files are one study (the mean); a client's file name is not logged.
  httplib::MultipartFormDataItems parts = {{"files", png(0), "SECRET-NAME-ONE.png", "image/png"},
                                           {"files", png(1), "SECRET-NAME-TWO.png", "image/png"}};
  auto study = c.Post("/predict", parts);
  ASSERT_EQ(study->status, 200) << study->body;
  const json st = body_of(study);
  ASSERT_EQ(st["images"].size(), 2u);
  const double mean = (st["images"][0]["probability"].get<double>() +
                       st["images"][1]["probability"].get<double>()) /
                      2;
  EXPECT_NEAR(st["study"]["probability"].get<double>(), mean, 1e-12);
  EXPECT_EQ(st["study"]["images"], 2);
  EXPECT_NEAR(st["images"][0]["probability"].get<double>(), prob0, 1e-6);
  // One unreadable file among good ones: its own message, the rest scored.
  httplib::MultipartFormDataItems mixed = {{"files", png(1), "a.png", "image/png"},
                                           {"files", "not an image", "b.png", "image/png"}};
  auto m = c.Post("/predict", mixed);
  ASSERT_EQ(m->status, 200) << m->body;
  EXPECT_TRUE(test::contains(body_of(m)["images"][1]["error"].get<std::string>(), "image 2"));
  EXPECT_EQ(body_of(m)["study"]["images"], 1);

  // Grad-CAM: original, heatmap and overlay PNGs at the image's size, and the raw CAM.
  auto cam = c.Post("/predict?gradcam=1", png(2), "image/png");
  ASSERT_EQ(cam->status, 200) << cam->body;
  const json cj = body_of(cam)["images"][0];
  const cv::Mat original = cv::imread(images_[2].string(), cv::IMREAD_GRAYSCALE);
  for (const char* k : {"image_png", "heatmap_png", "overlay_png"}) {
    const std::string bytes = serve::base64_decode(cj[k].get<std::string>(), k);
    const cv::Mat img =
        cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(img.empty()) << k;
    EXPECT_EQ(img.cols, original.cols) << k;
    EXPECT_EQ(img.rows, original.rows) << k;
  }
  EXPECT_EQ(cj["cam"]["shape"], json::array({2, 2})) << "ResNet at 64 px: a 2x2 grid";
  EXPECT_EQ(cj["cam"]["data"].size(), 4u);

  // KServe v2 infer, BYTES: the same probabilities as /predict; the id echoed.
  const json infer = {
      {"id", "req-7"},
      {"inputs",
       {{{"name", "image"},
         {"datatype", "BYTES"},
         {"shape", {2}},
         {"data", {report::base64_encode(png(0)), report::base64_encode(png(1))}}}}}};
  auto k = c.Post("/v2/models/mura/infer", infer.dump(), "application/json");
  ASSERT_EQ(k->status, 200) << k->body;
  const json kj = body_of(k);
  EXPECT_EQ(kj["id"], "req-7");
  EXPECT_EQ(kj["model_name"], "mura");
  EXPECT_EQ(kj["outputs"][0]["shape"], json::array({2}));
  EXPECT_NEAR(kj["outputs"][0]["data"][0].get<double>(), prob0, 1e-6);
  EXPECT_NEAR(kj["outputs"][0]["data"][1].get<double>(),
              st["images"][1]["probability"].get<double>(), 1e-6);
  // FP32: the normalised pixels a client computed itself give the same probability.
  const cv::Mat gray = data::load_gray(images_[0]);
  std::vector<float> pixels(3 * 64 * 64);
  data::normalize_into(data::resize_square(gray, 64), data::TransformOptions::evaluation(64),
                       pixels.data());
  const json fp = {
      {"inputs",
       {{{"name", "pixels"}, {"datatype", "FP32"}, {"shape", {1, 3, 64, 64}}, {"data", pixels}}}}};
  auto f = c.Post("/v2/models/mura/infer", fp.dump(), "application/json");
  ASSERT_EQ(f->status, 200) << f->body;
  EXPECT_NEAR(body_of(f)["outputs"][0]["data"][0].get<double>(), prob0, 1e-6);

  // Bad requests, each a JSON error naming the problem.
  auto bad_json =
      c.Post("/v2/models/mura/infer", R"({"inputs": [{"name": "image"}]})", "application/json");
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_TRUE(test::contains(body_of(bad_json)["error"].get<std::string>(), "inputs[0]"));
  auto wrong_size = c.Post("/v2/models/mura/infer",
                           json{{"inputs",
                                 {{{"name", "pixels"},
                                   {"datatype", "FP32"},
                                   {"shape", {1, 3, 1, 1}},
                                   {"data", {1, 2, 3}}}}}}
                               .dump(),
                           "application/json");
  EXPECT_EQ(wrong_size->status, 400);
  EXPECT_TRUE(test::contains(body_of(wrong_size)["error"].get<std::string>(), "[B,3,64,64]"));
  auto text = c.Post("/predict", "hello", "text/plain");
  EXPECT_EQ(text->status, 415);
  EXPECT_TRUE(test::contains(body_of(text)["error"].get<std::string>(), "Content-Type"));
  std::string truncated = png(3);
  truncated.resize(truncated.size() / 2);
  auto trunc = c.Post("/predict", truncated, "image/png");
  EXPECT_EQ(trunc->status, 400);
  EXPECT_TRUE(test::contains(body_of(trunc)["error"].get<std::string>(), "image 1"));
  // A PNG header claiming 60000 x 60000: refused from the header, before any decoding.
  std::string bomb = png(3);
  const unsigned char big[8] = {0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60};
  bomb.replace(16, 8, reinterpret_cast<const char*>(big), 8);
  auto b = c.Post("/predict", bomb, "image/png");
  EXPECT_EQ(b->status, 400);
  EXPECT_TRUE(test::contains(body_of(b)["error"].get<std::string>(), "limit"));

  // The hardening, on the wire.
  const std::string host = "Host: 127.0.0.1:" + std::to_string(s.port()) + "\r\n";
  const std::string chunked = raw_http(
      s.port(),
      "POST /predict HTTP/1.1\r\n" + host +
          "Transfer-Encoding: chunked\r\nContent-Type: image/png\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(chunked), 411) << chunked;
  EXPECT_TRUE(test::contains(chunked, "Transfer-Encoding is not accepted"));
  const std::string no_length =
      raw_http(s.port(), "POST /predict HTTP/1.1\r\n" + host +
                             "Content-Type: image/png\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(no_length), 411) << no_length;
  const std::string gzip = raw_http(
      s.port(),
      "POST /predict HTTP/1.1\r\n" + host +
          "Content-Encoding: gzip\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(status_of(gzip), 415) << gzip;
  const std::string huge =
      raw_http(s.port(), "POST /predict HTTP/1.1\r\n" + host +
                             "Content-Type: image/png\r\nContent-Length: 999999999999\r\n\r\n");
  EXPECT_EQ(status_of(huge), 413) << huge;
  EXPECT_TRUE(test::contains(huge, "--max-body-mb"));
  const std::string rebinding = raw_http(
      s.port(), "GET /v2 HTTP/1.1\r\nHost: evil.example:8080\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(rebinding), 403) << rebinding;
  EXPECT_TRUE(test::contains(rebinding, "X-Request-Id"));

  // Metrics move with requests.
  const std::string before = c.Get("/metrics")->body;
  ASSERT_EQ(c.Post("/predict", png(4), "image/png")->status, 200);
  const std::string after = c.Get("/metrics")->body;
  auto count = [](const std::string& t, const std::string& key) {
    const auto at = t.find(key);
    return at == std::string::npos ? 0.0 : std::stod(t.substr(at + key.size()));
  };
  const std::string key = "mura_requests_total{route=\"/predict\",status=\"200\"} ";
  EXPECT_EQ(count(after, key), count(before, key) + 1);
  EXPECT_GT(count(after, "mura_requests_total{route=\"/predict\",status=\"415\"} "), 0);
  EXPECT_GT(count(after, "mura_batch_size_count "), 0);
  EXPECT_TRUE(test::contains(after, "mura_queue_depth "));
  EXPECT_TRUE(test::contains(after, "mura_queue_wait_seconds_bucket"));

  // Logs: request id, route, status, bytes, latency; never the client's file names.
  const std::string log = s.log();
  EXPECT_TRUE(test::contains(log, "request abc-123 POST /predict 200"));
  EXPECT_FALSE(test::contains(log, "SECRET-NAME"));
  EXPECT_EQ(s.signal_and_wait(SIGTERM), 0) << s.log();
}

TEST_F(Serve, BatchedEqualsUnbatched) {
  Server s("--checkpoint " + checkpoint() + " --precision fp32 --max-batch 8 --max-delay-ms 200",
           tmp("batch.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  std::vector<std::future<json>> together;
  for (std::size_t i = 0; i < 8; ++i)
    together.push_back(std::async(std::launch::async, [&s, i] {
      auto c = s.client();
      return body_of(c.Post("/predict", png(i), "image/png"));
    }));
  std::vector<json> batched;
  int largest = 0;
  for (auto& f : together) {
    batched.push_back(f.get());
    largest = std::max(largest, batched.back()["batch_size"].get<int>());
  }
  EXPECT_GT(largest, 1) << "concurrent requests shared a forward pass";
  auto c = s.client();
  for (std::size_t i = 0; i < 8; ++i) {
    const json one = body_of(c.Post("/predict", png(i), "image/png"));
    EXPECT_EQ(one["batch_size"], 1);
    EXPECT_NEAR(one["study"]["probability"].get<double>(),
                batched[i]["study"]["probability"].get<double>(), 1e-6)
        << "image " << i;
  }
}

TEST_F(Serve, TokenHostAndCorsRules) {
  const fs::path token = tmp("token.txt");
  test::write_text(token, "a-token-of-thirty-two-characters\n");
  Server s("--checkpoint " + checkpoint() + " --token-file " + token.string(), tmp("auth.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  auto c = s.client();
  auto none = c.Post("/predict", png(0), "image/png");
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_TRUE(test::contains(body_of(none)["error"].get<std::string>(), "bearer token"));
  EXPECT_EQ(c.Post("/predict",
                   httplib::Headers{{"Authorization", "Bearer a-token-of-thirty-two-characterX"}},
                   png(0), "image/png")
                ->status,
            401);
  EXPECT_EQ(c.Get("/metrics")->status, 401) << "metrics need the token too";
  EXPECT_EQ(c.Post("/predict",
                   httplib::Headers{{"Authorization", "Bearer a-token-of-thirty-two-characters"}},
                   png(0), "image/png")
                ->status,
            200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200) << "probes need no token";
  EXPECT_TRUE(test::contains(c.Get("/")->body, "id=\"token\"")) << "the page asks for it";
  EXPECT_FALSE(c.Get("/v2/health/live")->has_header("Access-Control-Allow-Origin"));
  // Unsafe start-ups are refused, naming the flag.
  const auto open =
      test::run_mura("serve --checkpoint " + checkpoint() + " --host 0.0.0.0 --port 0");
  EXPECT_EQ(open.exit_code, 1) << open.out;
  EXPECT_TRUE(test::contains(open.out, "--host 0.0.0.0"));
  const auto star =
      test::run_mura("serve --checkpoint " + checkpoint() + " --cors-origin '*' --port 0");
  EXPECT_EQ(star.exit_code, 1);
  EXPECT_TRUE(test::contains(star.out, "--cors-origin"));
  const auto missing =
      test::run_mura("serve --checkpoint " + tmp("nope.ckpt").string() + " --port 0");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(test::contains(missing.out, "nope.ckpt"));
}

TEST_F(Serve, AFullQueueAnswers503AndALateRequest504) {
  Server s("--checkpoint " + checkpoint() +
               " --max-batch 8 --max-delay-ms 1500 --queue 1 --timeout-ms 800",
           tmp("queue.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  auto first = std::async(std::launch::async, [&s] {
    auto c = s.client();
    return c.Post("/predict", png(0), "image/png");
  });
  std::this_thread::sleep_for(300ms);  // the first waits in the queue for company
  auto c = s.client();
  auto busy = c.Post("/predict", png(1), "image/png");
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_TRUE(test::contains(body_of(busy)["error"].get<std::string>(), "busy"));
  auto late = first.get();
  EXPECT_EQ(late->status, 504)
      << "it waited 1.5 s past a deadline of 0.8 s: dropped before compute";
  EXPECT_TRUE(test::contains(body_of(late)["error"].get<std::string>(), "--timeout-ms"));
}

TEST_F(Serve, SigtermDrainsTheRequestInFlightAndRefusesNewOnes) {
  Server s("--checkpoint " + checkpoint() + " --max-batch 8 --max-delay-ms 1500", tmp("drain.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  auto in_flight = std::async(std::launch::async, [&s] {
    auto c = s.client();
    return c.Post("/predict", png(0), "image/png");
  });
  std::this_thread::sleep_for(300ms);
  auto code = std::async(std::launch::async, [&s] { return s.signal_and_wait(SIGTERM); });
  std::this_thread::sleep_for(300ms);
  auto c = s.client();
  auto after = c.Get("/v2/health/ready");
  EXPECT_TRUE(!after || after->status == 503) << "a request after the signal is refused";
  auto r = in_flight.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << "the request in flight completed";
  EXPECT_EQ(code.get(), 0);
  EXPECT_TRUE(test::contains(s.log(), "draining"));
}

TEST_F(Serve, DicomUploadsScoreAsTheirPng) {
  const fs::path gen = fs::path(MURA_DICOM_DIR) / "generated";
  if (!fs::exists(gen / "raw_le.dcm"))
    GTEST_SKIP() << "no generated DICOM files (../shared/data absent?)";
  Server s("--checkpoint " + checkpoint() + " --precision fp32", tmp("dicom.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  auto c = s.client();
  const json from_png = body_of(c.Post("/predict", read_file(gen / "source.png"), "image/png"));
  for (const char* f : {"raw_le.dcm", "j2k_lossless.dcm", "no_meta"}) {
    if (!fs::exists(gen / f)) continue;
    auto r = c.Post("/predict", read_file(gen / f), "application/dicom");
    ASSERT_EQ(r->status, 200) << f << ": " << r->body;
    EXPECT_NEAR(body_of(r)["study"]["probability"].get<double>(),
                from_png["study"]["probability"].get<double>(), 0.01)
        << f;
  }
  auto bad = c.Post("/predict", "this is a text file with a .dcm name", "application/dicom");
  EXPECT_EQ(bad->status, 400);
}

TEST_F(Serve, ThePageInARealBrowserShowsWhatTheApiSays) {
  const fs::path script = fs::path(MURA_SOURCE_DIR) / "tests/browser/serve_page.mjs";
  if (test::run_command(
          "node -e 'process.exit(Number(process.versions.node.split(\".\")[0]) >= 20 ? 0 : 1)'")
          .exit_code != 0)
    GTEST_SKIP() << "no Node >= 20 (playwright-core needs it)";
  if (!fs::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "no /usr/bin/chromium (apt-get install chromium)";
  if (!fs::exists(fs::path(MURA_SOURCE_DIR) / "tests/browser/node_modules/playwright-core"))
    GTEST_SKIP() << "no playwright-core (scripts/install-deps.sh runs npm ci in tests/browser)";
  Server s("--checkpoint " + checkpoint() + " --gradcam --precision fp32", tmp("page.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/";
  const fs::path shot = fs::path(MURA_BINARY).parent_path() / "serve_page.png";
  const auto r = test::run_command("node " + script.string() + " " + url + " " +
                                   images_[5].string() + " " + shot.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json page = json::parse(r.out.substr(r.out.find('{')));
  auto c = s.client();
  const json api = body_of(c.Post("/predict", png(5), "image/png"));
  EXPECT_EQ(page["probability"].get<double>(), api["study"]["probability"].get<double>())
      << "the page shows the JSON API's number";
  EXPECT_EQ(page["verdict"], api["study"]["verdict"]);
  EXPECT_EQ(page["panels"], 3) << "original | heatmap | overlay";
  EXPECT_EQ(page["focused"], "files") << "the file input is the first Tab stop";
  EXPECT_TRUE(test::contains(page["rejected"].get<std::string>(), "Rejected (400)"));
  EXPECT_TRUE(page["console_errors"].empty()) << page["console_errors"].dump();
  EXPECT_TRUE(page["external_requests"].empty()) << page["external_requests"].dump();
  EXPECT_TRUE(fs::exists(shot));
}

/// The process's resident set size in kB (/proc/PID/status VmRSS).
long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST_F(Serve, UnderLoadGoodRequestsNeverFailAndEveryBadOneGetsA4xxWithAMessage) {
  // 1,000 requests at concurrency 8, every tenth a bad upload (truncated PNG, text, a PNG
  // header claiming 60000 x 60000, a wrong Content-Type); bounded in count and in time.
  Server s("--checkpoint " + checkpoint() + " --quiet", tmp("load.log"));
  ASSERT_GT(s.port(), 0) << s.log();
  std::string truncated = png(1);
  truncated.resize(truncated.size() / 2);
  std::string bomb = png(2);
  const unsigned char big[8] = {0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60};
  bomb.replace(16, 8, reinterpret_cast<const char*>(big), 8);
  struct Kind {
    std::string body, type;
    int want;
  };
  const std::vector<Kind> bad = {{truncated, "image/png", 400},
                                 {"just some text", "image/png", 400},
                                 {bomb, "image/png", 400},
                                 {png(3), "text/plain", 415}};
  auto send = [&](httplib::Client& c, int i, std::vector<double>* latencies) {
    const bool is_bad = i % 10 == 9;
    const Kind k = is_bad ? bad[static_cast<std::size_t>(i / 10) % bad.size()]
                          : Kind{png(static_cast<std::size_t>(i) % 8), "image/png", 200};
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.Post("/predict", k.body, k.type.c_str());
    if (latencies)
      latencies->push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!r) return std::string("no answer to request ") + std::to_string(i);
    if (r->status != k.want)
      return "request " + std::to_string(i) + ": " + std::to_string(r->status) + " " + r->body;
    if (is_bad) {
      const json j = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("error") || !j["error"].is_string() ||
          j["error"].get<std::string>().empty())
        return "request " + std::to_string(i) + ": no JSON error message: " + r->body;
    }
    return std::string();
  };
  const int threads = 8;
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<double> latencies;
  // Runs `total` requests at concurrency 8, numbered from `first`, within `bound`.
  auto run = [&](int first, int total, std::chrono::seconds bound) {
    std::atomic<int> next{first};
    const auto deadline = std::chrono::steady_clock::now() + bound;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        auto c = s.client();
        std::vector<double> mine;
        for (int i = next++; i < first + total && std::chrono::steady_clock::now() < deadline;
             i = next++) {
          const std::string f = send(c, i, &mine);
          if (!f.empty()) {
            std::lock_guard<std::mutex> lock(mutex);
            failures.push_back(f);
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    for (auto& t : pool) t.join();
  };
  // Warm up with the same concurrency first: every HTTP thread's allocator arena and the
  // model's buffers for every batch size reach their working size before the first reading.
  run(0, 300, 120s);
  ASSERT_TRUE(failures.empty()) << failures[0];
  latencies.clear();
  const long before = rss_kb(s.pid());
  const int total = 1000;
  const auto start = std::chrono::steady_clock::now();
  run(300, total, 300s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long after = rss_kb(s.pid());
  ASSERT_EQ(latencies.size(), static_cast<std::size_t>(total)) << "the run hit its time bound";
  EXPECT_TRUE(failures.empty()) << failures.size() << " failures, the first: " << failures[0];
  std::sort(latencies.begin(), latencies.end());
  auto q = [&](double f) {
    return latencies[static_cast<std::size_t>(f * (latencies.size() - 1))];
  };
  std::cout << "[ LOAD     ] " << total << " requests (10% bad) at concurrency " << threads << ": "
            << total / seconds << " req/s, p50 " << q(0.5) << " ms, p95 " << q(0.95) << " ms, p99 "
            << q(0.99) << " ms; RSS " << before / 1024 << " MB before, " << after / 1024
            << " MB after\n";
  ASSERT_GT(before, 0);
  EXPECT_LE(after, before * 11 / 10) << "RSS grew more than 10% under load";
}

}  // namespace
}  // namespace mura
