#pragma once
/// Every saved format's version, in one place (as PyTorch's caffe2/serialize/versions.h).
///
/// A reader accepts its own version (and the older ones listed as readable) and refuses a
/// newer one with a message naming the version found. Bump a constant when the meaning or
/// layout of the file changes in a way an older reader would misread, and add a line below.
#include <cstdint>

namespace mura::versions {

/// Checkpoints (weights/checkpoint.h): a PyTorch archive with mura_format_version.
///   1  2026-10: model spec, state dict, training state, optimizer, RNG. The held-out split
///      (val_split, seed, val_source, tasks, strata) is recorded under state.split since
///      2026-12 without a bump: older readers ignore it, newer ones fall back to the
///      options when it is absent.
///   2  2026-12: spec.temperature (inference divides the logits by it; temperature scaling)
///      and spec.calibration (the rule, data and numbers behind the threshold and the
///      temperature). A version-1 reader would ignore the temperature and misread every
///      probability of a calibrated model, hence the bump; version 1 files are read as
///      temperature 1, no record.
constexpr std::int64_t kCheckpoint = 2;

/// TorchScript exports (weights/export.h): the module's format_version attribute.
///   1  2026-10: normalised [B,3,H,W] input, P(abnormal) output, threshold attribute.
constexpr std::int64_t kExport = 1;

/// metrics.json written by evaluate (eval/summary.h) and read by the report.
///   1  2026-10: image/study metrics, per body part, bootstrap CIs, calibration.
constexpr int kMetrics = 1;

/// The loader's disk cache of decoded, resized images (data/loader.cpp).
///   1  2026-10: header + raw 8-bit planes.
constexpr std::uint32_t kImageCache = 1;

/// metrics.jsonl rows of a training run (train/metrics_log.h): each row's format_version.
///   1  2026-12: the columns of metrics.csv plus format_version.
constexpr int kTrainingLog = 1;

/// `mura stats --json` output (printed, for scripts).
///   1  2026-10: root, root_name, rows per split and body part, skipped, notes.
constexpr int kStatsJson = 1;

}  // namespace mura::versions
