#include "mura/report/inputs.h"

#include <cmath>
#include <fstream>

#include "mura/data/dataset.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Lines of a text file without their line ends ("\r\n" too).
std::vector<std::string> read_lines(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

bool parse_double(const std::string& text, double& value) {
  const std::string t(trim(text));
  if (t.empty()) return false;
  try {
    std::size_t used = 0;
    value = std::stod(t, &used);
    return used == t.size();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

json read_metrics_json(const fs::path& file) {
  if (!fs::exists(file))
    throw Error(file.string() +
                ": no such file (run 'mura evaluate' first; --eval-dir is its --output-dir)");
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::exception& e) {  // parse_error, out_of_range (1e999)
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(file.string() + ": expected a JSON object");
  if (!j.contains("format_version"))
    throw Error(file.string() +
                ": no format_version; not a metrics.json written by 'mura evaluate'");
  const json& v = j["format_version"];
  if (!v.is_number_integer() || v.get<int>() != kMetricsFormatVersion)
    throw Error(file.string() + ": format_version " + v.dump() +
                " is not supported (this mura " MURA_VERSION " reads format_version " +
                std::to_string(kMetricsFormatVersion) + ")");
  for (const char* key : {"study", "image", "per_body_part", "threshold"})
    if (!j.contains(key)) throw Error(file.string() + ": missing key '" + key + "'");
  for (const char* level : {"study", "image"})
    for (const char* key : {"auroc", "kappa", "sensitivity", "specificity", "confusion_matrix",
                            "classification_report"})
      if (!j[level].contains(key))
        throw Error(file.string() + ": missing key '" + std::string(level) + "." + key + "'");
  return j;
}

std::vector<std::string> parse_csv_line(const std::string& line, const std::string& where) {
  std::vector<std::string> fields;
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) throw Error(where + ": unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') throw Error(where + ": text after a closing quote");
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    fields.push_back(field);
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::vector<ImageRow> read_image_predictions(const fs::path& file) {
  if (!fs::exists(file)) throw Error(file.string() + ": no such file (run 'mura evaluate' first)");
  const auto lines = read_lines(file);
  const std::string header = "path,body_part,study,label,probability";
  if (lines.empty() || lines[0] != header)
    throw Error(location(file.string(), 1) + "expected the header '" + header + "', got '" +
                (lines.empty() ? std::string() : lines[0]) + "'");
  std::vector<ImageRow> rows;
  for (std::size_t n = 1; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const std::string where = file.string() + ":" + std::to_string(n + 1);
    const auto f = parse_csv_line(lines[n], where);
    if (f.size() != 5)
      throw Error(where + ": expected 5 fields (" + header + "), got " + std::to_string(f.size()));
    ImageRow r;
    r.path = f[0];
    r.body_part = f[1];
    r.study = f[2];
    if (f[3] != "0" && f[3] != "1")
      throw Error(where + ": label must be 0 or 1, got '" + f[3] + "'");
    r.label = f[3] == "1" ? 1 : 0;
    if (!parse_double(f[4], r.probability) || !(r.probability >= 0.0 && r.probability <= 1.0))
      throw Error(where + ": probability must be a number in [0, 1], got '" + f[4] + "'");
    rows.push_back(std::move(r));
  }
  if (rows.empty()) throw Error(file.string() + ": no predictions");
  return rows;
}

TrainingLog read_training_log(const fs::path& file) {
  const auto lines = read_lines(file);
  if (lines.empty())
    throw Error(file.string() + ": empty (expected a header with an 'epoch' column)");
  TrainingLog log;
  log.columns = parse_csv_line(lines[0], file.string() + ":1");
  bool has_epoch = false;
  for (const auto& c : log.columns) {
    if (log.values.count(c))
      throw Error(location(file.string(), 1) + "column '" + c + "' appears twice");
    log.values[c];
    has_epoch |= c == "epoch";
  }
  if (!has_epoch)
    throw Error(location(file.string(), 1) +
                "no 'epoch' column; not a metrics.csv of 'mura train'");
  for (std::size_t n = 1; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    const std::string where = file.string() + ":" + std::to_string(n + 1);
    const auto f = parse_csv_line(lines[n], where);
    if (f.size() != log.columns.size())
      throw Error(where + ": expected " + std::to_string(log.columns.size()) + " fields, got " +
                  std::to_string(f.size()));
    for (std::size_t k = 0; k < f.size(); ++k) {
      double v = std::nan("");
      if (!trim(f[k]).empty() && !parse_double(f[k], v))
        throw Error(where + ": column '" + log.columns[k] + "': expected a number, got '" + f[k] +
                    "'");
      log.values[log.columns[k]].push_back(v);
    }
    ++log.rows;
  }
  return log;
}

fs::path resolve_image(const fs::path& data_dir, const std::string& mura_path) {
  const fs::path full(mura_path);
  fs::path rest;
  bool first = true;
  for (const auto& part : full) {
    if (first) {
      first = false;
      continue;
    }
    rest /= part;
  }
  std::vector<fs::path> candidates = {data_dir / full, data_dir / rest};
  try {
    candidates.push_back(data::find_root(data_dir) / rest);
  } catch (const Error&) {
    // not a data set folder: the first two candidates are all there is
  }
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::is_regular_file(c, ec)) return c;
  return candidates.back();
}

}  // namespace mura::report
