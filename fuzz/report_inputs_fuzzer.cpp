// What `mura report` reads from other runs: metrics.json, predictions_images.csv and the
// training log metrics.csv. The first byte picks the reader.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "mura/report/inputs.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 4;
  const auto file = mura::fuzz::as_file("input", data + 1, size - 1);
  mura::fuzz::expect_checked("report inputs", [&] {
    switch (which) {
      case 0:
        mura::report::read_metrics_json(file);
        break;
      case 1:
        mura::report::read_image_predictions(file);
        break;
      case 2:
        mura::report::read_training_log(file);
        break;
      default:
        mura::report::parse_csv_line(std::string(reinterpret_cast<const char*>(data + 1), size - 1),
                                     "input:1");
    }
  });
  return 0;
}
