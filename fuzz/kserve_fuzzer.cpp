// The KServe v2 infer request parser (JSON: inputs, shapes, datatypes, BYTES base64, FP32
// flat or nested), directly: many more executions per second than through HTTP.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "mura/serve/kserve.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  mura::fuzz::expect_checked("parse_infer_request",
                             [&] { mura::serve::parse_infer_request(body, 1u << 16); });
  return 0;
}
