// The PNG/JPEG decode path: mura's header checks (format, size, pixel limit, truncation)
// and OpenCV's decoders behind them, as predict/train/serve reach it (decode_gray also
// dispatches DICOM by content; the DICOM harness goes deeper there).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "mura/data/image.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mura::data::DecodeOptions options;
  options.max_pixels = 4u << 20;  // a fuzzer's 60000x60000 header must not allocate 3.6 GB
  mura::fuzz::expect_checked("read_image_header",
                             [&] { mura::data::read_image_header(bytes, "input"); });
  mura::fuzz::expect_checked("decode_gray", [&] {
    const cv::Mat m = mura::data::decode_gray(bytes, "input", options);
    MURA_ASSERT(m.type() == CV_8UC1 && !m.empty(), "decode_gray returns a gray plane");
  });
  return 0;
}
