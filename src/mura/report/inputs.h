#pragma once
/// Reading what `mura evaluate` and `mura train` wrote, for the report: metrics.json,
/// predictions_images.csv and the training log metrics.csv. Every reader checks what it
/// reads and throws mura::Error naming the file (and line, key or column) at fault.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mura/util/versions.h"

namespace mura::report {

/// The metrics.json format_version this report understands.
constexpr int kMetricsFormatVersion = versions::kMetrics;  ///< util/versions.h

/// metrics.json, after checking that it is one: a JSON object with format_version 1 and the
/// keys the report shows (study, image, per_body_part, threshold). Throws mura::Error for a
/// missing file, invalid JSON (with the parser's position), another format_version (naming
/// the one found) or a missing key.
nlohmann::json read_metrics_json(const std::filesystem::path& file);

/// One row of predictions_images.csv.
struct ImageRow {
  std::string path;       ///< as MURA writes it: "MURA-v1.1/valid/XR_WRIST/.../image1.png"
  std::string body_part;  ///< "XR_WRIST"
  std::string study;
  int label = 0;             ///< the study's label
  double probability = 0.0;  ///< P(abnormal) the evaluation gave the image
};

/// Splits one CSV line into fields (RFC 4180 quoting: "a ""b""",c). Throws mura::Error for an
/// unterminated quote or text after a closing quote; `where` starts the message ("f.csv:3").
std::vector<std::string> parse_csv_line(const std::string& line, const std::string& where);

/// predictions_images.csv: the header path,body_part,study,label,probability, then one row
/// per image. Throws mura::Error naming file:line for a wrong header, a row with another
/// number of fields, a label not 0/1 or a probability not a number in [0, 1]; and for a
/// file with no rows.
std::vector<ImageRow> read_image_predictions(const std::filesystem::path& file);

/// A training log (metrics.csv as `mura train` writes it): column name -> one value per
/// row, NaN where a cell is empty (e.g. no validation that epoch).
struct TrainingLog {
  std::vector<std::string> columns;  ///< in file order
  std::map<std::string, std::vector<double>> values;
  std::size_t rows = 0;
  bool has(const std::string& column) const { return values.count(column) > 0; }
};

/// Reads metrics.csv. It must have an "epoch" column; cells must be numbers or empty.
/// Throws mura::Error naming file:line and the column otherwise.
TrainingLog read_training_log(const std::filesystem::path& file);

/// Where an image listed as `mura_path` lies below `data_dir` (the data set root or its
/// parent; MURA paths start with the root's own name, which may differ on disk, as the
/// indexer allows): the first that exists of data_dir/mura_path, data_dir/<rest> and
/// <root found below data_dir>/<rest>, where <rest> is mura_path without its first
/// component; when none exists, the last candidate (the caller reports it missing).
std::filesystem::path resolve_image(const std::filesystem::path& data_dir,
                                    const std::string& mura_path);

}  // namespace mura::report
