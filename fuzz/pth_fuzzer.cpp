// The .pth reader: zip container (local headers, central directory, CRCs), the pickle
// machine (every opcode it supports, persistent ids, storages, views) and the legacy
// (pre-1.6) format; the bytes pick the path, as they do for a user's file.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "mura/weights/pth_reader.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mura::fuzz::expect_checked("read_pth_bytes", [&] {
    const auto file = mura::weights::read_pth_bytes(bytes, "input.pth");
    for (const auto& t : file.tensors) MURA_ASSERT(t.tensor.defined(), "a read tensor is defined");
  });
  return 0;
}
