#pragma once
/// Patient-level train/validation split of one official split (normally `train`).
///
/// Every patient goes wholly to one side, so no patient's images leak across. Patients are
/// stratified by body part (a patient's stratum is the body part of their first study in
/// index order; MURA patients with several parts are rare): within each stratum, sorted by
/// id, they are shuffled with mura::Rng(seed) and the first round(fraction * n) go to
/// validation. mura::Rng is platform-independent, so the same seed gives the same split on
/// every machine and compiler.
#include <cstdint>
#include <string>
#include <vector>

#include "mura/data/dataset.h"

namespace mura::data {

struct SplitOptions {
  double val_fraction = 0.15;  ///< share of patients (per stratum) held out, in [0, 1)
  std::uint64_t seed = 42;
  Split source = Split::Train;  ///< which official split to divide
};

struct PatientSplit {
  std::vector<std::size_t> train_images;  ///< indices into Dataset::images
  std::vector<std::size_t> val_images;
  std::vector<std::string> train_patients;  ///< sorted
  std::vector<std::string> val_patients;    ///< sorted
};

/// Throws mura::Error when the fraction is outside [0, 1) or the source split is empty.
PatientSplit split_patients(const Dataset& ds, const SplitOptions& options = {});

}  // namespace mura::data
