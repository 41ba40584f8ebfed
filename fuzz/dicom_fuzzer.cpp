// The DICOM reader (GDCM behind mura's checks) and mura's grayscale pipeline: the
// header-only scan the tree indexer uses, then the full decode with the default VOI, a
// window chosen by index and the min/max window. The first byte picks the window so that
// every VOI path is reached.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "mura/data/dicom.h"
#include "mura/data/image.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* const windows[] = {"", "1", "2", "minmax", "BONE"};
  mura::data::DecodeOptions options;
  options.max_pixels = 4u << 20;
  options.dicom_window = windows[data[0] % 5];
  ++data;
  --size;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto file = mura::fuzz::as_file("input.dcm", data, size);
  mura::fuzz::expect_checked("read_dicom_info",
                             [&] { mura::data::read_dicom_info(file, options); });
  mura::fuzz::expect_checked("decode_dicom", [&] {
    if (!mura::data::looks_like_dicom(bytes)) return;
    const cv::Mat m = mura::data::decode_dicom(bytes, "input.dcm", options);
    MURA_ASSERT(m.type() == CV_8UC1 && !m.empty(), "decode_dicom returns a gray plane");
  });
  return 0;
}
