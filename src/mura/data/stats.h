#pragma once
/// Counts of a data set per split, body part and label: what the seeds' explore_data.py
/// prints, as a table or as rows for JSON.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "mura/data/dataset.h"

namespace mura::data {

struct Counts {
  std::array<std::size_t, 2> images{};   ///< [normal, abnormal]
  std::array<std::size_t, 2> studies{};  ///< [normal, abnormal]
  std::size_t patients = 0;              ///< distinct patients
  std::size_t unlabeled_studies = 0;     ///< DICOM trees without a label for the study
  std::size_t unlabeled_images = 0;
  std::size_t total_images() const { return images[0] + images[1] + unlabeled_images; }
  std::size_t total_studies() const { return studies[0] + studies[1] + unlabeled_studies; }
};

struct StatsRow {
  std::string split;      ///< "train", "valid" or "all"
  std::string body_part;  ///< "XR_WRIST" or "ALL"
  Counts counts;
};

/// Rows per (split, body part), each split's "ALL" row after its parts, and, when both
/// splits are present, "all" rows per body part and overall.
std::vector<StatsRow> compute_stats(const Dataset& ds);

/// A fixed-width text table of the rows.
std::string format_stats_table(const std::vector<StatsRow>& rows);

}  // namespace mura::data
