#pragma once
/// `mura serve` as a composition: checkpoint(s) -> one inference worker with a dynamic
/// batcher -> HTTP (KServe v2 / Open Inference Protocol, a native /predict, the page,
/// Prometheus metrics), safe by default. See README "Serving".
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mura/explain/gradcam.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"

namespace mura::app {

struct ServeOptions {
  std::vector<std::string> checkpoints;  ///< one, or several (ensemble: mean probability)
  std::string host = "127.0.0.1";        ///< --host: loopback unless told otherwise
  int port = 8080;                       ///< --port: 0 = any free port
  std::string token;                     ///< --token / --token-file: bearer token
  bool insecure_no_auth = false;         ///< --insecure-no-auth: no token off loopback
  int max_batch = 8;                     ///< --max-batch
  int max_delay_ms = 5;                  ///< --max-delay-ms
  std::size_t queue = 64;                ///< --queue: waiting requests at most (then 503)
  int timeout_ms = 30000;                ///< --timeout-ms: a request's deadline
  int max_body_mb = 20;                  ///< --max-body-mb
  bool gradcam = false;                  ///< --gradcam: allow ?gradcam=1 (and the page's panels)
  explain::CamMethod method = explain::CamMethod::GradCam;
  double alpha = 0.4;                              ///< overlay opacity
  double threshold = -1;                           ///< < 0: the (first) checkpoint's threshold
  std::string cors_origin;                         ///< --cors-origin: that origin only, never *
  int drain_timeout_s = 30;                        ///< --drain-timeout-s
  int http_threads = 8;                            ///< --http-threads
  std::string model_name = "mura";                 ///< --model-name: the KServe model name
  std::string dicom_window;                        ///< DecodeOptions::dicom_window
  std::uint64_t max_pixels = 64ULL * 1000 * 1000;  ///< DecodeOptions::max_pixels
  RuntimeOptions runtime;
};

/// A loaded, warmed-up, bound service. Construction loads the checkpoints, runs the warm-up
/// and binds the port (mura::Error naming the flag on failure); serve() answers requests until
/// stop() (from any thread, e.g. a signal watcher): readiness turns 503 at once, the listener
/// closes, requests in flight finish, queued batches run, then serve() returns.
class Service {
 public:
  Service(const ServeOptions& options, Sink& sink);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  int port() const;
  void serve();
  void stop();
  /// One raw HTTP request through the service's HTTP edge and routes, without a socket
  /// (serve::HttpServer::handle_raw); the batcher answers as for any request. For fuzzing.
  std::string handle_raw(std::string_view request);
  /// "http://127.0.0.1:8080/" (IPv6 hosts in brackets).
  std::string url() const;
  /// url() and what runs behind it, for the start-up banner.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Throws mura::Error naming the flag when the options are unsafe or inconsistent: a
/// non-loopback --host without a token or --insecure-no-auth, --cors-origin '*', limits <= 0.
void check_serve_options(const ServeOptions& options);

}  // namespace mura::app
