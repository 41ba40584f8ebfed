#include "mura/app/serve.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "mura/app/common.h"
#include "mura/data/image.h"
#include "mura/data/transforms.h"
#include "mura/explain/render.h"
#include "mura/models/inference.h"
#include "mura/report/html.h"
#include "mura/serve/batcher.h"
#include "mura/serve/http.h"
#include "mura/serve/kserve.h"
#include "mura/serve/metrics.h"
#include "mura/serve/page.h"
#include "mura/util/error.h"
#include "mura/util/precision.h"
#include "mura/util/sha256.h"
#include "mura/util/strings.h"
#include "mura/util/torch_compat.h"

namespace mura::app {

namespace fs = std::filesystem;
using nlohmann::json;
using serve::Clock;
using serve::error_response;
using serve::HttpRequest;
using serve::HttpResponse;

namespace {

/// The service logs from every HTTP thread and the worker: one line at a time.
class LockedSink : public Sink {
 public:
  explicit LockedSink(Sink& inner) : inner_(inner) {}
  void info(const std::string& m) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_.info(m);
  }
  void warn(const std::string& m) override {
    std::lock_guard<std::mutex> lock(mutex_);
    inner_.warn(m);
  }

 private:
  Sink& inner_;
  std::mutex mutex_;
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string png_base64(const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  cv::imencode(".png", image, bytes);
  return report::base64_encode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

/// An uploaded image's media type: what /predict accepts as a raw body.
bool accepted_media_type(const std::string& content_type) {
  const std::string t = to_lower(trim(content_type.substr(0, content_type.find(';'))));
  return t == "image/png" || t == "image/jpeg" || t == "application/dicom" ||
         t == "application/octet-stream";
}

/// Thrown by a handler to answer with a status and a message (the message is the client's).
struct Refusal {
  int status;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace

void check_serve_options(const ServeOptions& o) {
  MURA_CHECK(!o.checkpoints.empty(), "--checkpoint: give at least one checkpoint to serve");
  if (!serve::is_loopback_host(o.host) && o.token.empty() && !o.insecure_no_auth)
    throw Error("--host " + o.host +
                ": listening beyond this machine needs --token or --token-file (or "
                "--insecure-no-auth, if something in front of mura authenticates)");
  if (o.cors_origin == "*")
    throw Error("--cors-origin: '*' is refused; name the one origin the page is served from");
  if (o.max_batch < 1 || o.max_batch > 256) throw Error("--max-batch: from 1 to 256");
  if (o.max_delay_ms < 0 || o.max_delay_ms > 10000) throw Error("--max-delay-ms: from 0 to 10000");
  if (o.queue < 1) throw Error("--queue: at least 1");
  if (o.timeout_ms < 1) throw Error("--timeout-ms: at least 1");
  if (o.max_body_mb < 1 || o.max_body_mb > 1024) throw Error("--max-body-mb: from 1 to 1024");
  if (o.drain_timeout_s < 0) throw Error("--drain-timeout-s: not negative");
  if (o.http_threads < 1 || o.http_threads > 256) throw Error("--http-threads: from 1 to 256");
  if (o.threshold > 1) throw Error("--threshold: a probability from 0 to 1");
}

struct Service::Impl {
  ServeOptions options;
  LockedSink log;
  Runtime rt;
  std::vector<weights::Checkpoint> checkpoints;
  std::vector<std::shared_ptr<models::ClassifierImpl>> models;
  double threshold = 0.5;
  int size = 224;
  data::TransformOptions transform;
  data::DecodeOptions decode;
  json identity;
  serve::Metrics metrics;
  std::unique_ptr<serve::Batcher> batcher;
  std::unique_ptr<serve::HttpServer> http;
  std::atomic<bool> ready{false}, stopping{false};
  int port = 0;

  Impl(const ServeOptions& o, Sink& sink) : options(o), log(sink) {}

  // ------------------------------------------------------------------ the model's side
  std::vector<double> predict(const torch::Tensor& batch) {
    torch::InferenceMode guard;
    auto x = batch.to(rt.device);
    if (rt.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    models::InferenceOptions io;
    io.device = rt.device;
    io.precision = rt.precision.precision;
    const auto p = models::ensemble_probabilities(models, x, io).contiguous();
    return std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  }

  serve::JobResult explain_one(const torch::Tensor& image) {
    auto x = image.to(rt.device);
    if (rt.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    compat::AutocastGuard autocast(rt.device, autocast_dtype(rt.precision.precision),
                                   uses_autocast(rt.precision.precision));
    const auto cams = explain::compute_cam(models, x, options.method);
    serve::JobResult r;
    r.probability = cams.probabilities[0].item<double>();
    r.cam = cams.cams[0].contiguous();
    r.geometry = cams.geometry;
    return r;
  }

  // ------------------------------------------------------------------ requests
  /// Decodes and normalises one uploaded image; mura::Error names `what` on bad bytes.
  std::pair<cv::Mat, torch::Tensor> prepare(const std::string& bytes, const std::string& what) {
    cv::Mat gray = data::decode_gray(bytes, what, decode);
    auto t = torch::empty({3, size, size}, torch::kFloat32);
    data::normalize_into(data::resize_square(gray, size), transform, t.data_ptr<float>());
    return {std::move(gray), std::move(t)};
  }

  /// Queues the images, waits for them; throws Refusal for a full queue or a passed deadline.
  std::vector<serve::JobResult> compute(const std::vector<torch::Tensor>& images, bool gradcam,
                                        Clock::time_point deadline) {
    std::vector<std::future<serve::JobResult>> futures;
    for (const auto& image : images) {
      auto f = batcher->submit(image, gradcam, deadline);
      if (!f)
        throw Refusal{503,
                      ready ? "the service is busy (queue of " + std::to_string(options.queue) +
                                  " full): retry shortly"
                            : "the service is stopping",
                      {{"Retry-After", "1"}}};
      futures.push_back(std::move(*f));
    }
    std::vector<serve::JobResult> out;
    for (auto& f : futures) {
      // The worker answers every job it takes (expired ones without compute); the extra
      // minute covers a batch that started just before the deadline.
      if (f.wait_until(deadline + std::chrono::seconds(60)) != std::future_status::ready)
        throw Refusal{504, "no answer from the model in time (--timeout-ms)", {}};
      out.push_back(f.get());
      metrics.queue_wait(out.back().queue_seconds);
      if (out.back().expired)
        throw Refusal{504,
                      "the request waited past its deadline of " +
                          std::to_string(options.timeout_ms) + " ms (--timeout-ms)",
                      {}};
      if (!out.back().error.empty()) {
        log.warn("inference failed: " + out.back().error);
        throw Refusal{500, "inference failed (see the service's log)", {}};
      }
    }
    return out;
  }

  HttpResponse guarded(const HttpRequest& req, const std::function<HttpResponse()>& f) {
    try {
      return f();
    } catch (const Refusal& r) {
      HttpResponse out = error_response(r.status, r.message);
      out.headers = r.headers;
      return out;
    } catch (const Error& e) {
      return error_response(400, e.what());
    } catch (const std::exception& e) {
      log.warn("request " + req.request_id + ": internal error: " + e.what());
      return error_response(500, "internal error (request " + req.request_id + ")");
    }
  }

  HttpResponse predict_route(const HttpRequest& req) {
    const auto deadline = req.arrived + std::chrono::milliseconds(options.timeout_ms);
    const bool gradcam = req.query.count("gradcam") && req.query.at("gradcam") != "0";
    if (gradcam && !options.gradcam)
      throw Refusal{400, "Grad-CAM is off in this service (start it with --gradcam)", {}};
    // The uploads: multipart parts, or the raw body.
    std::vector<const std::string*> uploads;
    if (!req.files.empty()) {
      for (const auto& f : req.files) uploads.push_back(&f.content);
    } else if (to_lower(req.content_type).rfind("multipart/form-data", 0) == 0) {
      throw Refusal{400, "the multipart body holds no file", {}};
    } else {
      if (!accepted_media_type(req.content_type))
        throw Refusal{415,
                      "Content-Type must be image/png, image/jpeg, application/dicom or "
                      "multipart/form-data",
                      {}};
      if (req.body.empty()) throw Refusal{400, "the body is empty: send one image", {}};
      uploads.push_back(&req.body);
    }
    if (uploads.size() > 64) throw Refusal{400, "at most 64 images in one study", {}};
    const auto t0 = Clock::now();
    std::vector<cv::Mat> grays(uploads.size());
    std::vector<torch::Tensor> inputs;
    std::vector<std::size_t> input_of(uploads.size(), SIZE_MAX);
    std::vector<std::string> errors(uploads.size());
    for (std::size_t i = 0; i < uploads.size(); ++i) {
      try {
        auto [gray, t] = prepare(*uploads[i], "image " + std::to_string(i + 1));
        if (gradcam) grays[i] = std::move(gray);  // the panels are drawn on it
        input_of[i] = inputs.size();
        inputs.push_back(std::move(t));
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    }
    if (inputs.empty())
      throw Refusal{
          400,
          uploads.size() == 1 ? errors[0] : "no image could be read: " + join(errors, "; "),
          {}};
    const double decode_ms = ms_since(t0);
    const auto t1 = Clock::now();
    const auto results = compute(inputs, gradcam, deadline);
    const double model_ms = ms_since(t1);
    json images = json::array();
    double sum = 0, queue_ms = 0;
    int batch = 0;
    for (std::size_t i = 0; i < uploads.size(); ++i) {
      json im = {{"index", i}};
      if (input_of[i] == SIZE_MAX) {
        im["error"] = errors[i];
        images.push_back(im);
        continue;
      }
      const auto& r = results[input_of[i]];
      sum += r.probability;
      queue_ms = std::max(queue_ms, r.queue_seconds * 1000);
      batch = std::max(batch, r.batch_size);
      im["probability"] = r.probability;
      im["verdict"] = r.probability >= threshold ? "abnormal" : "normal";
      if (gradcam) {
        const cv::Mat& gray = grays[i];
        const cv::Mat cam = explain::cam_to_image(r.cam, r.geometry, gray.cols, gray.rows);
        im["image_png"] = png_base64(gray);
        im["heatmap_png"] = png_base64(explain::colorize(cam));
        im["overlay_png"] = png_base64(explain::overlay(gray, cam, options.alpha));
        const auto c = r.cam.to(torch::kFloat32).contiguous();
        im["cam"] = {
            {"shape", {c.size(0), c.size(1)}},
            {"data", std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())}};
      }
      images.push_back(im);
    }
    const double p = sum / static_cast<double>(results.size());
    json out = {{"request_id", req.request_id},
                {"model", identity},
                {"threshold", threshold},
                {"study",
                 {{"probability", p},
                  {"verdict", p >= threshold ? "abnormal" : "normal"},
                  {"images", results.size()}}},
                {"images", images},
                {"timings",
                 {{"decode_ms", decode_ms},
                  {"queue_ms", queue_ms},
                  {"model_ms", model_ms},
                  {"total_ms", ms_since(req.arrived)}}},
                {"batch_size", batch}};
    HttpResponse res;
    res.body = out.dump();
    res.batch_size = batch;
    return res;
  }

  /// The {name} of a /v2/models/{name} route is this service's model.
  bool is_our_model(const HttpRequest& req) const {
    return !req.path_params.empty() && req.path_params[0] == options.model_name;
  }
  HttpResponse unknown_model() const {
    return error_response(404,
                          "no model by that name (this service has '" + options.model_name + "')");
  }

  HttpResponse infer_route(const HttpRequest& req) {
    if (!is_our_model(req)) return unknown_model();
    const auto deadline = req.arrived + std::chrono::milliseconds(options.timeout_ms);
    const auto r =
        serve::parse_infer_request(req.body, static_cast<std::size_t>(options.max_body_mb) << 19);
    const auto& in = r.inputs[0];
    // Counted from the shape, before anything is decoded.
    if (in.shape[0] == 0) throw Error("inputs[0].shape: at least one image");
    if (in.shape[0] > 256) throw Error("inputs[0].shape: at most 256 images in one request");
    std::vector<torch::Tensor> inputs;
    if (in.name == "image") {
      for (std::size_t i = 0; i < in.bytes.size(); ++i)
        inputs.push_back(prepare(in.bytes[i], "inputs[0].data[" + std::to_string(i) + "]").second);
    } else {
      if (in.shape[2] != size || in.shape[3] != size)
        throw Error("inputs[0].shape: the model takes [B,3," + std::to_string(size) + "," +
                    std::to_string(size) + "]");
      const auto all = torch::from_blob(const_cast<float*>(in.fp32.data()),
                                        {in.shape[0], 3, size, size}, torch::kFloat32)
                           .clone();
      for (int64_t b = 0; b < in.shape[0]; ++b) inputs.push_back(all[b]);
    }
    const auto results = compute(inputs, false, deadline);
    std::vector<double> p;
    int batch = 0;
    for (const auto& x : results) {
      p.push_back(x.probability);
      batch = std::max(batch, x.batch_size);
    }
    HttpResponse res;
    res.body = serve::infer_response(options.model_name, "1", r.id, p);
    res.batch_size = batch;
    return res;
  }

  HttpResponse model_route(const HttpRequest& req, bool ready_only) {
    if (!is_our_model(req)) return unknown_model();
    if (ready_only)
      return ready ? HttpResponse{200, "{}", "application/json", {}, 0}
                   : error_response(503, "not ready");
    return HttpResponse{200,
                        serve::model_metadata(options.model_name, "1", "mura-libtorch", size),
                        "application/json",
                        {},
                        0};
  }

  void add_routes() {
    auto& s = *http;
    auto route = [this](auto f) {
      return [this, f](const HttpRequest& req) { return guarded(req, [&] { return f(req); }); };
    };
    s.get("/", "/", route([this](const HttpRequest&) {
            HttpResponse r{200,
                           serve::page_html(!options.token.empty(), options.gradcam),
                           "text/html; charset=utf-8",
                           {},
                           0};
            r.headers.push_back(
                {"Content-Security-Policy",
                 "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src "
                 "'unsafe-inline'; connect-src 'self'; form-action 'none'; base-uri 'none'"});
            return r;
          }));
    s.get("/v2/health/live", "/v2/health/live", route([](const HttpRequest&) {
            return HttpResponse{200, "{}", "application/json", {}, 0};
          }));
    s.get("/v2/health/ready", "/v2/health/ready", route([this](const HttpRequest&) {
            return ready ? HttpResponse{200, "{}", "application/json", {}, 0}
                         : error_response(503, "not ready");
          }));
    s.get(
        "/v2", "/v2", route([](const HttpRequest&) {
          return HttpResponse{200, serve::server_metadata(MURA_VERSION), "application/json", {}, 0};
        }));
    s.get("/v2/models/([^/]+)", "/v2/models/{name}",
          route([this](const HttpRequest& r) { return model_route(r, false); }));
    s.get("/v2/models/([^/]+)/ready", "/v2/models/{name}/ready",
          route([this](const HttpRequest& r) { return model_route(r, true); }));
    s.post("/v2/models/([^/]+)/infer", "/v2/models/{name}/infer",
           route([this](const HttpRequest& r) { return infer_route(r); }));
    s.post("/predict", "/predict",
           route([this](const HttpRequest& r) { return predict_route(r); }));
    s.get("/metrics", "/metrics", route([this](const HttpRequest&) {
            return HttpResponse{200, metrics.text(), "text/plain; version=0.0.4", {}, 0};
          }));
    s.on_access([this](const serve::AccessRecord& a) {
      metrics.request(a.route, a.status, a.seconds);
      std::ostringstream line;
      line << "request " << a.request_id << " " << a.method << " " << a.route << " " << a.status
           << " in " << a.bytes_in << " B out " << a.bytes_out << " B "
           << static_cast<long long>(std::llround(a.seconds * 1000)) << " ms";
      if (a.batch_size > 0) line << " batch " << a.batch_size;
      log.info(line.str());
    });
    s.on_exception([this](const std::string& what) { log.warn("internal error: " + what); });
  }

  void load() {
    rt = resolve_runtime(options.runtime);
    checkpoints = load_for_inference(options.checkpoints, rt);
    check_same_geometry(checkpoints, options.checkpoints);
    models = models_of(checkpoints);
    const auto& spec = checkpoints[0].spec;
    threshold = options.threshold >= 0 ? options.threshold : spec.threshold;
    size = spec.image_size;
    transform = data::TransformOptions::evaluation(size);
    transform.mean = spec.mean;
    transform.std = spec.std;
    decode.max_pixels = options.max_pixels;
    decode.dicom_window = options.dicom_window;
    std::string digests;
    json names = json::array(), archs = json::array();
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
      std::ifstream in(options.checkpoints[i], std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      const auto d = sha256(bytes);
      digests += to_hex(d.data(), d.size());
      names.push_back(fs::path(options.checkpoints[i]).filename().string());
      archs.push_back(checkpoints[i].spec.arch);
    }
    const auto d = sha256(digests);
    identity = {{"name", options.model_name},
                {"architecture", join(archs.get<std::vector<std::string>>(), "+")},
                {"checkpoints", names},
                {"sha256", checkpoints.size() == 1 ? digests : to_hex(d.data(), d.size())},
                {"image_size", size},
                {"precision", precision_name(rt.precision.precision)},
                {"threshold", threshold},
                {"threshold_origin",
                 options.threshold >= 0 ? std::string("--threshold")
                                        : "the checkpoint's: " + weights::describe_threshold(spec)},
                {"temperature", spec.temperature}};
  }

  void warm_up() {
    // The first passes allocate and pick kernels: run them before saying "ready".
    for (int b : {1, options.max_batch}) predict(torch::zeros({b, 3, size, size}, torch::kFloat32));
    if (options.gradcam) explain_one(torch::zeros({1, 3, size, size}, torch::kFloat32));
  }
};

Service::Service(const ServeOptions& options, Sink& sink)
    : impl_(std::make_unique<Impl>(options, sink)) {
  check_serve_options(options);
  Impl& im = *impl_;
  at_boundary("serving " + join(options.checkpoints, ", "), [&] {
    im.load();
    im.warm_up();
  });
  serve::BatcherOptions bo;
  bo.max_batch = options.max_batch;
  bo.max_delay_ms = options.max_delay_ms;
  bo.queue = options.queue;
  serve::BatchModel model;
  model.predict = [&im](const torch::Tensor& x) { return im.predict(x); };
  model.explain = [&im](const torch::Tensor& x) { return im.explain_one(x); };
  im.batcher = std::make_unique<serve::Batcher>(std::move(model), bo,
                                                [&im](int n, double s) { im.metrics.batch(n, s); });
  im.metrics.set_queue_depth([&im] { return im.batcher->depth(); });
  serve::HttpOptions ho;
  ho.host = options.host;
  ho.port = options.port;
  ho.max_body_bytes = static_cast<std::size_t>(options.max_body_mb) << 20;
  ho.threads = options.http_threads;
  ho.token = options.token;
  ho.cors_origin = options.cors_origin;
  ho.public_routes = {"/", "/v2/health/live", "/v2/health/ready"};
  im.http = std::make_unique<serve::HttpServer>(ho);
  im.add_routes();
  im.port = im.http->bind();
}

Service::~Service() {
  if (impl_->http) impl_->http->stop();
  if (impl_->batcher) impl_->batcher->stop();
}

int Service::port() const {
  return impl_->port;
}

std::string Service::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port) + "/";
}

std::string Service::describe() const {
  const auto& o = impl_->options;
  return "serving " + impl_->identity["architecture"].get<std::string>() + " (" +
         std::to_string(impl_->checkpoints.size()) + " checkpoint(s), " +
         std::to_string(impl_->size) + " px, threshold " + std::to_string(impl_->threshold) +
         ") on " + url() + " (" + impl_->rt.describe() + "; max batch " +
         std::to_string(o.max_batch) + ", " +
         (o.token.empty() ? "no token" : "bearer token required") + ")";
}

std::string Service::handle_raw(std::string_view request) {
  return impl_->http->handle_raw(request);
}

void Service::serve() {
  if (!impl_->stopping) impl_->ready = true;
  impl_->http->listen();
  // The listener is closed and every HTTP thread has finished its request.
  impl_->batcher->stop();
}

void Service::stop() {
  impl_->stopping = true;
  impl_->ready = false;
  impl_->http->stop();
}

}  // namespace mura::app
