#pragma once
/// The `mura` command line: how a subcommand registers itself. Each subcommand lives in its
/// own file, takes its shared flags from the flag table (flags.h), runs one app/
/// composition and prints its results on stdout (progress and diagnostics go to stderr
/// through the console sink, console.h).
#include <CLI/CLI.hpp>
#include <functional>

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
void add_calibrate_command(CLI::App& app, Runner& run);
void add_predict_command(CLI::App& app, Runner& run);
void add_explain_command(CLI::App& app, Runner& run);
void add_report_command(CLI::App& app, Runner& run);
void add_convert_dicom_command(CLI::App& app, Runner& run);
void add_render_command(CLI::App& app, Runner& run);
void add_serve_command(CLI::App& app, Runner& run);

/// Every subcommand above, in help order (main and the flag-table test use it).
void add_all_commands(CLI::App& app, Runner& run);

}  // namespace mura::cli
