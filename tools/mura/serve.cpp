// mura serve: the model(s) behind HTTP: KServe v2 / Open Inference Protocol, a native
// /predict, a page at /, Prometheus /metrics. SIGTERM or SIGINT drains and exits 0.
#include "mura/app/serve.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <thread>

#include "cli.h"
#include "console.h"
#include "flags.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"
#include "predict_common.h"

namespace mura::cli {

namespace {

struct ServeCli {
  app::ServeOptions options;
  std::string threshold, token_file;
  int max_pixels_mp = 64;
  ConsoleOptions console;
};

std::string read_token_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("--token-file: cannot read " + file);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  token = std::string(trim(token));
  if (token.size() < 16) throw Error("--token-file: " + file + " holds fewer than 16 characters");
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    throw Error("--token-file: " + file + " must hold one token on one line");
  return token;
}

int run_serve(ServeCli& c) {
  ConsoleSink sink(c.console);
  if (!c.token_file.empty()) c.options.token = read_token_file(c.token_file);
  if (!c.options.token.empty() && c.options.token.size() < 16)
    throw Error("--token: at least 16 characters (better: --token-file, which ps cannot show)");
  c.options.threshold = parse_predict_threshold(c.threshold);
  c.options.max_pixels = static_cast<std::uint64_t>(c.max_pixels_mp) * 1000 * 1000;
  // Signals go to one watcher thread (blocked everywhere else, before any thread starts).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  app::Service service(c.options, sink);
  sink.info(service.describe());
  std::cout << "listening on " << service.url() << std::endl;
  std::atomic<bool> done{false};
  const int drain_s = c.options.drain_timeout_s;
  std::thread watcher([&] {
    while (!done) {
      timespec wait{0, 200 * 1000 * 1000};
      const int sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig <= 0) continue;
      std::fprintf(stderr, "mura: %s: not ready; draining requests in flight (up to %d s)\n",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT", drain_s);
      service.stop();
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(drain_s);
      while (!done && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!done) {
        std::fprintf(stderr, "mura: drain timeout (--drain-timeout-s %d): exiting\n", drain_s);
        std::_Exit(1);
      }
      return;
    }
  });
  service.serve();
  done = true;
  watcher.join();
  if (!c.console.quiet) std::fprintf(stderr, "mura: stopped\n");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, Runner& run) {
  auto c = std::make_shared<ServeCli>();
  auto& o = c->options;
  CLI::App* sub = app.add_subcommand(
      "serve", "serve the model(s) over HTTP: KServe v2 API, /predict, a web page, /metrics");
  sub->option_defaults()->always_capture_default();
  add_checkpoints_in_flag(*sub, o.checkpoints);
  sub->add_option("--host", o.host,
                  "address to listen on (another than loopback needs --token or --token-file)");
  sub->add_option("--port", o.port, "TCP port (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--token", o.token,
                  "bearer token clients must send (Authorization: Bearer T); visible in ps, "
                  "prefer --token-file")
      ->default_str("none");
  sub->add_option("--token-file", c->token_file, "file holding the bearer token")
      ->check(CLI::ExistingFile)
      ->default_str("none");
  sub->add_flag("--insecure-no-auth", o.insecure_no_auth,
                "allow a non-loopback --host without a token (only behind an authenticating "
                "proxy)");
  sub->add_option("--max-batch", o.max_batch, "images per forward pass at most (dynamic batching)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--max-delay-ms", o.max_delay_ms,
                  "how long the oldest queued request waits for others to batch with")
      ->check(CLI::Range(0, 10000));
  sub->add_option("--queue", o.queue, "requests waiting at most; more get 503 with Retry-After")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--timeout-ms", o.timeout_ms,
                  "a request's deadline; past it, it is dropped before compute (504)")
      ->check(CLI::Range(1, 3600000));
  sub->add_option("--max-body-mb", o.max_body_mb, "largest request body accepted (413 above)")
      ->check(CLI::Range(1, 1024));
  sub->add_option("--max-megapixels", c->max_pixels_mp,
                  "largest image accepted, checked from its header before decoding")
      ->check(CLI::Range(1, 1000));
  add_gradcam_switch_flag(*sub, o.gradcam);
  add_threshold_flag(*sub, c->threshold);
  sub->get_option("--threshold")->default_str("the checkpoint's");
  sub->add_option("--cors-origin", o.cors_origin,
                  "allow cross-origin calls from this one origin (never *)")
      ->default_str("none");
  sub->add_option("--drain-timeout-s", o.drain_timeout_s,
                  "on SIGTERM/SIGINT, how long requests in flight may take to finish")
      ->check(CLI::Range(0, 3600));
  sub->add_option("--http-threads", o.http_threads, "HTTP worker threads (decode uploads)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--model-name", o.model_name, "the model's name in the KServe v2 routes");
  add_dicom_window_flag(*sub, o.dicom_window);
  add_runtime_flags(*sub, o.runtime, {/*fold_batchnorm=*/true, /*deterministic=*/false});
  add_cam_flags(*sub, o.method, o.alpha);
  add_console_flags(*sub, c->console);
  sub->callback([c, &run] { run = [c] { return run_serve(*c); }; });
}

}  // namespace mura::cli
