// The MURA CSV indexer, a whole file at a time: the first byte picks which of the four
// files the input becomes (the other split's files stay valid) and the bad-entry policy;
// the data set is then indexed as `mura train/evaluate/stats` would (files not checked on
// disk: the CSVs are what is fuzzed).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_util.h"
#include "mura/data/dataset.h"

namespace {

const char* const kFiles[] = {"train_image_paths.csv", "train_labeled_studies.csv",
                              "valid_image_paths.csv", "valid_labeled_studies.csv"};
const char* const kValid[] = {
    ("MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png\n"
     "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image2.png\n"),
    "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/,1\n",
    "MURA-v1.1/valid/XR_HAND/patient11185/study1_negative/image1.png\n",
    "MURA-v1.1/valid/XR_HAND/patient11185/study1_negative/,0\n"};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 4;
  const bool skip = (data[0] / 4) % 2 == 1;
  const auto root = mura::fuzz::scratch() / "MURA-v1.1";
  std::filesystem::create_directories(root);
  for (int i = 0; i < 4; ++i) {
    std::ofstream out(root / kFiles[i], std::ios::binary | std::ios::trunc);
    if (i == which)
      out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    else
      out << kValid[i];
  }
  mura::data::IndexOptions options;
  options.check_files_exist = false;
  options.on_bad = skip ? mura::data::BadEntryPolicy::Skip : mura::data::BadEntryPolicy::Fail;
  mura::fuzz::expect_checked("index_dataset", [&] {
    const auto ds = mura::data::index_dataset(root, options);
    for (const auto& st : ds.studies)
      MURA_ASSERT(st.label >= -1 && st.label <= 1, "labels are -1 (none), 0 or 1");
  });
  return 0;
}
