// mura stats: images, studies and patients per split, body part and label.
#include "mura/data/stats.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "flags.h"
#include "mura/app/common.h"
#include "mura/util/error.h"
#include "mura/util/versions.h"

namespace mura::cli {

namespace {

struct StatsOptions {
  std::string data_dir;
  std::string split;  // empty: both
  std::vector<std::string> tasks;
  bool skip_bad = false;
  data::DicomTreeOptions dicom;
  bool json = false;
  ConsoleOptions console;
};

const NameTable<std::string>& stats_split_names() {
  static const NameTable<std::string> table(
      "--split", {{"train", "train", {}}, {"valid", "valid", {"val", "validation"}}});
  return table;
}

int run_stats(const StatsOptions& o) {
  ConsoleSink sink(o.console);
  data::DicomTreeOptions dicom = o.dicom;
  dicom.require_labels = false;  // counting needs no labels: unlabelled studies are counted
  dicom.split = data::Split::Train;
  data::Dataset ds = app::open_dataset(o.data_dir, o.tasks, o.skip_bad, sink, dicom);
  auto rows = data::compute_stats(ds);
  if (!o.split.empty()) {
    const std::string want = data::split_name(data::parse_split(o.split));
    if (!ds.has_split(data::parse_split(o.split)))
      throw Error("--split " + o.split + ": the data set at " + ds.root.string() + " has no '" +
                  want + "' images");
    std::vector<data::StatsRow> kept;
    for (auto& r : rows)
      if (r.split == want) kept.push_back(r);
    rows = kept;
  }
  if (o.json) {
    nlohmann::json j;
    j["format_version"] = versions::kStatsJson;
    j["root"] = ds.root.string();
    j["root_name"] = ds.root_name;
    j["dicom_tree"] = ds.dicom_tree;
    j["rows"] = nlohmann::json::array();
    for (const auto& r : rows) {
      const auto& c = r.counts;
      j["rows"].push_back({{"split", r.split},
                           {"body_part", r.body_part},
                           {"patients", c.patients},
                           {"studies", c.total_studies()},
                           {"studies_normal", c.studies[0]},
                           {"studies_abnormal", c.studies[1]},
                           {"images", c.total_images()},
                           {"images_normal", c.images[0]},
                           {"images_abnormal", c.images[1]},
                           {"studies_unlabeled", c.unlabeled_studies},
                           {"images_unlabeled", c.unlabeled_images}});
    }
    j["skipped"] = ds.report.skipped;
    j["notes"] = ds.report.notes;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "data set: " << ds.root.string() << " (" << ds.root_name << ")\n";
  for (const auto& n : ds.report.notes) std::cout << "note: " << n << "\n";
  std::cout << "\n" << data::format_stats_table(rows);
  return 0;
}

}  // namespace

void add_stats_command(CLI::App& app, Runner& run) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* sub = app.add_subcommand(
      "stats", "count images, studies and patients per split, body part and label");
  add_data_dir_flag(*sub, o->data_dir);
  add_split_flag(*sub, o->split, stats_split_names());
  sub->get_option("--split")->default_str("both");
  add_tasks_flag(*sub, o->tasks);
  add_skip_bad_flag(*sub, o->skip_bad);
  add_dicom_tree_flags(*sub, o->dicom);
  add_json_flag(*sub, o->json);
  add_console_flags(*sub, o->console);
  sub->callback([o, &run] { run = [o] { return run_stats(*o); }; });
}

}  // namespace mura::cli
