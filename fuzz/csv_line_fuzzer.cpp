// One CSV line: the input (up to its first newline) becomes a line of a valid
// train_image_paths.csv or train_labeled_studies.csv (the first byte picks which and where),
// so the mutations go into a line's fields (paths, patient/study names, labels, quoting)
// rather than into the file's structure.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_util.h"
#include "mura/data/dataset.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool labels = data[0] % 2 == 1;
  const bool first = (data[0] / 2) % 2 == 1;
  std::string line(reinterpret_cast<const char*>(data + 1), size - 1);
  if (const auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  const auto root = mura::fuzz::scratch() / "MURA-v1.1";
  std::filesystem::create_directories(root);
  const std::string images = "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png\n";
  const std::string studies = "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/,1\n";
  {
    std::ofstream out(root / "train_image_paths.csv", std::ios::binary | std::ios::trunc);
    out << (!labels && first ? line + "\n" + images : images + (labels ? "" : line + "\n"));
  }
  {
    std::ofstream out(root / "train_labeled_studies.csv", std::ios::binary | std::ios::trunc);
    out << (labels && first ? line + "\n" + studies : studies + (labels ? line + "\n" : ""));
  }
  mura::data::IndexOptions options;
  options.check_files_exist = false;
  options.on_bad = mura::data::BadEntryPolicy::Skip;
  mura::fuzz::expect_checked("index_dataset", [&] {
    const auto ds = mura::data::index_dataset(root, options);
    for (const auto& im : ds.images)
      MURA_ASSERT(im.study < ds.studies.size(), "every image belongs to an indexed study");
  });
  return 0;
}
