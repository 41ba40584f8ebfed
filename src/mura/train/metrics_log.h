#pragma once
/// A training run's per-epoch log: metrics.csv (for people and spreadsheets) and
/// metrics.jsonl (one JSON object per epoch, with format_version, util/versions.h).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "mura/train/trainer.h"

namespace mura::train {

/// The jsonl row of one epoch (NaN numbers as null).
nlohmann::json epoch_row(const EpochRecord& record);

/// metrics.jsonl rows of earlier runs in `jsonl` with epoch <= up_to_epoch (a resumed run
/// keeps those); lines that are not rows of ours are dropped.
std::vector<nlohmann::json> previous_rows(const std::filesystem::path& jsonl, int up_to_epoch);

/// Rewrites `dir`/metrics.csv and `dir`/metrics.jsonl atomically from all rows.
void write_metrics_log(const std::filesystem::path& dir, const std::vector<nlohmann::json>& rows);

}  // namespace mura::train
