// The service's request handling, in-process and without sockets: the input is the bytes
// a client sends (request line, headers, body) and goes through cpp-httplib's parser,
// mura's pre-routing checks (Host, token, Transfer-/Content-Encoding, lengths), the routes
// (/predict raw and multipart with Grad-CAM, KServe v2 infer and metadata, health,
// metrics, the page) and the batcher to a real model (ResNet-18 at 32 px, random weights,
// written at start-up). A bearer token is set so the refusal path is fuzzed too; the
// dictionary holds it.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "mura/app/serve.h"
#include "mura/models/registry.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"

namespace {

std::unique_ptr<mura::app::Service> service;
mura::NullSink sink;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  const auto ckpt = mura::fuzz::scratch() / "model.ckpt";
  mura::weights::ModelSpec spec;
  spec.arch = "resnet18";
  spec.image_size = 32;
  auto model = mura::models::create_model(spec.arch, 1);
  mura::weights::save_checkpoint(ckpt, spec, *model);
  mura::app::ServeOptions o;
  o.checkpoints = {ckpt.string()};
  o.port = 0;
  o.token = "fuzz-token";
  o.gradcam = true;
  o.max_batch = 4;
  o.max_delay_ms = 0;
  o.timeout_ms = 5000;
  o.max_body_mb = 1;
  o.max_pixels = 1u << 20;
  o.http_threads = 1;
  o.runtime.precision = "fp32";
  o.runtime.threads = 1;
  service = std::make_unique<mura::app::Service>(o, sink);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view request(reinterpret_cast<const char*>(data), size);
  mura::fuzz::expect_checked("http", [&] {
    const std::string response = service->handle_raw(request);
    // Every answer that was sent is an HTTP response with a status line; the body of a
    // 500 never carries an exception's text.
    if (!response.empty()) {
      MURA_ASSERT(response.rfind("HTTP/1.1 ", 0) == 0, "a response starts with a status line");
      if (response.rfind("HTTP/1.1 500", 0) == 0)
        MURA_ASSERT(response.find("internal error") != std::string::npos,
                    "a 500 says only 'internal error'");
    }
  });
  return 0;
}
