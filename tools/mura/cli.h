#pragma once
/// Shared pieces of the `mura` command line: how a subcommand registers itself, and the
/// flags several subcommands share (with the seeds' spellings as aliases).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/report/report.h"

namespace mura::cli {

/// A subcommand's run function, set when the subcommand is parsed; returns the exit code.
using Runner = std::function<int()>;

void add_stats_command(CLI::App& app, Runner& run);
void add_synth_command(CLI::App& app, Runner& run);
void add_convert_weights_command(CLI::App& app, Runner& run);
void add_export_command(CLI::App& app, Runner& run);
void add_info_command(CLI::App& app, Runner& run);
void add_train_command(CLI::App& app, Runner& run);
void add_evaluate_command(CLI::App& app, Runner& run);
void add_predict_command(CLI::App& app, Runner& run);
void add_explain_command(CLI::App& app, Runner& run);
void add_report_command(CLI::App& app, Runner& run);

/// --data-dir / --data_dir (required).
void add_data_dir_flag(CLI::App& sub, std::string& dir);
/// --tasks / --body-parts: comma- or space-separated body parts (ELBOW or XR_ELBOW).
void add_tasks_flag(CLI::App& sub, std::vector<std::string>& tasks);
/// --skip-bad / --skip_bad.
void add_skip_bad_flag(CLI::App& sub, bool& skip_bad);

/// --precision auto|fp32|bf16|fp16 (and --amp = low precision even where auto would not:
/// bf16, or fp16 on a GPU without bf16), --channels-last / --no-channels-last.
void add_precision_flags(CLI::App& sub, std::string& precision, bool& channels_last);
/// --workers / --num-workers / --num_workers (default: chosen) and --threads (0: chosen).
void add_thread_flags(CLI::App& sub, int& workers, int& threads);
/// The report flags `mura report` and `mura evaluate --report` share (--gallery, --thumb-size).
void add_report_flags(CLI::App& sub, report::GalleryOptions& gallery, std::size_t& gallery_size);
/// Writes the HTML report with a gallery of `gallery_size` (see set_gallery_size) and prints
/// where it went and its notes; returns the exit code.
int write_html_report(report::ReportOptions options, std::size_t gallery_size);

/// Indexes the data set and applies the body-part filter, with flag names in errors.
data::Dataset load_dataset(const std::string& dir, const std::vector<std::string>& tasks,
                           bool skip_bad);

}  // namespace mura::cli
