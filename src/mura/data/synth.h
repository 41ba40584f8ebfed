#pragma once
/// A synthetic data set in the MURA-v1.1 layout, with real, localisable signal.
///
/// Each image is a radiograph-like scene: a noisy background, soft tissue, one or two
/// bones (centred anywhere in the middle half of the image) with a darker medullary canal, and (in
/// either class) side markers and small bright blobs as distractors. In abnormal studies, images
/// carry a lesion with probability `lesion_rate` (and every abnormal study has at least one): a
/// bright ring with a dark core on a bone, its radius 13-17% of the geometric mean of the image's
/// sides, so that after the loader's stretch to 224x224 its box is about two cells of ResNet's 7x7
/// CAM (32 px) wide or more along both axes; the lesion is the only thing that tells the classes
/// apart. The boxes are written to `synth_lesions.csv` (with a header: image_path,x0,y0,x1,y1 in
/// pixels of the written image, inclusive-exclusive), so tests can check that a model learns
/// (AUROC) and that Grad-CAM points at the lesion.
///
/// Images are PNGs of varying size and aspect; a share are RGB (colour-tinted gray) or
/// 16-bit gray, as real collections mix them. The output is deterministic for a seed.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mura::data {

struct SynthOptions {
  std::filesystem::path out;    ///< the data set root to create; its name is the MURA root name
  int patients = 200;           ///< patients over both splits
  double valid_fraction = 0.2;  ///< share of patients in the official valid split
  std::uint64_t seed = 7;
  std::vector<std::string> body_parts{"XR_ELBOW",   "XR_FINGER",   "XR_FOREARM", "XR_HAND",
                                      "XR_HUMERUS", "XR_SHOULDER", "XR_WRIST"};
  double abnormal_rate = 0.4;  ///< share of abnormal studies
  double lesion_rate = 0.8;    ///< share of an abnormal study's images with a visible lesion
  int min_side = 160;          ///< image sides are drawn from [min_side, max_side]
  int max_side = 320;
  double rgb_rate = 0.25;         ///< share of images saved as 3-channel PNG
  double sixteen_bit_rate = 0.1;  ///< share saved as 16-bit gray PNG
  bool overwrite = false;         ///< replace an existing, non-empty `out`
};

struct SynthSummary {
  std::size_t patients = 0, studies = 0, images = 0, abnormal_studies = 0, lesions = 0;
};

/// Writes the data set (into a temporary sibling folder, renamed into place at the end, so
/// an interrupted run leaves no half-written data set). Throws mura::Error on bad options or
/// when `out` exists and is not empty (unless overwrite).
SynthSummary write_synthetic_dataset(const SynthOptions& options);

}  // namespace mura::data
