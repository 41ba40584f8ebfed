#include "mura/train/metrics_log.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "mura/util/atomic_file.h"
#include "mura/util/versions.h"

namespace mura::train {
namespace fs = std::filesystem;
using nlohmann::json;

json epoch_row(const EpochRecord& r) {
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  return {{"format_version", versions::kTrainingLog},
          {"epoch", r.epoch},
          {"step", r.step},
          {"lr", r.lr},
          {"train_loss", num(r.train_loss)},
          {"val_loss", num(r.val_loss)},
          {"val_image_auc", num(r.image_auc)},
          {"val_image_accuracy", num(r.image_accuracy)},
          {"val_image_kappa", num(r.image_kappa)},
          {"val_study_auc", num(r.study_auc)},
          {"val_study_accuracy", num(r.study_accuracy)},
          {"val_study_kappa", num(r.study_kappa)},
          {"seconds", r.seconds},
          {"images_per_s", r.images_per_s},
          {"best", r.best}};
}

std::vector<json> previous_rows(const fs::path& jsonl, int up_to_epoch) {
  std::vector<json> rows;
  std::ifstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      if (j.at("epoch").get<int>() <= up_to_epoch) rows.push_back(j);
    } catch (const json::exception&) {
      // a foreign or damaged line: not ours to keep
    }
  }
  return rows;
}

void write_metrics_log(const fs::path& dir, const std::vector<json>& rows) {
  static const char* cols[] = {"epoch",
                               "step",
                               "lr",
                               "train_loss",
                               "val_loss",
                               "val_image_auc",
                               "val_image_accuracy",
                               "val_image_kappa",
                               "val_study_auc",
                               "val_study_accuracy",
                               "val_study_kappa",
                               "seconds",
                               "images_per_s",
                               "best"};
  std::ostringstream csv, jsonl;
  for (std::size_t i = 0; i < std::size(cols); ++i) csv << (i ? "," : "") << cols[i];
  csv << "\n";
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < std::size(cols); ++i) {
      const json& v = r.contains(cols[i]) ? r.at(cols[i]) : json(nullptr);
      csv << (i ? "," : "");
      if (v.is_boolean())
        csv << (v.get<bool>() ? 1 : 0);
      else if (v.is_number_float())
        csv << std::to_string(v.get<double>());
      else if (!v.is_null())
        csv << v.dump();
    }
    csv << "\n";
    jsonl << r.dump() << "\n";
  }
  write_file_atomic(dir / "metrics.csv", csv.str());
  write_file_atomic(dir / "metrics.jsonl", jsonl.str());
}

}  // namespace mura::train
