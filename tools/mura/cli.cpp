#include "cli.h"

#include <cctype>
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

void add_precision_flags(CLI::App& sub, std::string& precision, bool& channels_last) {
  sub.add_option("--precision", precision,
                 "auto (bf16 where the CPU/GPU computes it natively, else fp32), fp32, bf16, "
                 "fp16 (CUDA; training uses loss scaling)")
      ->transform([](std::string v) {
        for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (v != "auto" && v != "fp32" && v != "bf16" && v != "fp16" && v != "amp")
          throw CLI::ValidationError("--precision", "expected auto, fp32, bf16 or fp16, got '" + v + "'");
        return v;
      });
  sub.add_flag_callback("--amp", [&precision] { precision = "amp"; },
                        "mixed precision: bf16 autocast (fp16 on a GPU without bf16)");
  sub.add_flag("--channels-last,!--no-channels-last", channels_last,
               "channels-last memory format for the model and its batches");
}

void add_thread_flags(CLI::App& sub, int& workers, int& threads) {
  sub.add_option("--workers,--num-workers,--num_workers", workers,
                 "loader threads (default: chosen from the cores; 0 decodes on the main thread)")
      ->check(CLI::Range(0, 256))
      ->default_str("auto");
  sub.add_option("--threads", threads, "compute threads (0: chosen from the cores)")
      ->check(CLI::Range(0, 1024));
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
