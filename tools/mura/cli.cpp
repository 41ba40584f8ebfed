#include "cli.h"

#include <iostream>

#include "mura/util/error.h"

namespace mura::cli {

void add_data_dir_flag(CLI::App& sub, std::string& dir) {
  sub.add_option("--data-dir,--data_dir", dir,
                 "data set in the MURA-v1.1 layout: the root (with train_image_paths.csv ...) "
                 "or its parent")
      ->required();
}

void add_tasks_flag(CLI::App& sub, std::vector<std::string>& tasks) {
  sub.add_option("--tasks,--body-parts", tasks,
                 "body parts to keep, comma-separated (e.g. ELBOW,XR_WRIST); default all");
}

void add_skip_bad_flag(CLI::App& sub, bool& skip_bad) {
  sub.add_flag("--skip-bad,--skip_bad", skip_bad,
               "skip bad data set entries (missing images, malformed lines, label mismatches) "
               "and print their counts, instead of failing");
}

data::Dataset load_dataset(const std::string& dir, const std::vector<std::string>& tasks,
                           bool skip_bad) {
  data::IndexOptions opt;
  opt.on_bad = skip_bad ? data::BadEntryPolicy::Skip : data::BadEntryPolicy::Fail;
  data::Dataset ds = data::index_dataset(dir, opt);
  for (const auto& [kind, n] : ds.report.skipped)
    std::cerr << "mura: skipped " << n << " entr" << (n == 1 ? "y" : "ies") << " (" << kind
              << ")\n";
  if (ds.report.ignored_files)
    std::cerr << "mura: ignored " << ds.report.ignored_files
              << " file(s) that are not images in the layout (._*, .DS_Store, ...)\n";
  try {
    return data::filter_body_parts(ds, data::parse_task_list(tasks));
  } catch (const Error& e) {
    throw Error(std::string("--tasks: ") + e.what());
  }
}

}  // namespace mura::cli
