#pragma once
/// The flag table: every flag that more than one subcommand takes is declared here, once,
/// with its names (the seeds' spellings as aliases), its help text, and the options-struct
/// field it sets; a subcommand opts in by calling the function. One name has one meaning
/// everywhere (tests/tools/flags_test.cpp walks every subcommand and fails otherwise):
///
///   --checkpoint      the run's model file: written by train (default OUTPUT_DIR/best.ckpt),
///                     read by evaluate/predict/explain/report/export/info (the second seed's
///                     meaning); the first seed's --checkpoint_path is an alias
///   --load-checkpoint resume training from this checkpoint (train only; the first seed's
///                     --load_checkpoint)
///   --output-dir      a folder the command writes into;  --out/--output/-o  one file
///   --overwrite       replace what an earlier run left there (--force is an alias)
///
/// Enum-valued flags take their allowed values from the library's name tables, so the
/// command line and the library can never disagree.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "console.h"
#include "mura/data/dataset.h"
#include "mura/report/gallery.h"
#include "mura/util/names.h"
#include "mura/util/runtime.h"

namespace mura::cli {

// ---- data
void add_data_dir_flag(CLI::App& sub, std::string& dir, bool required = true);
/// What every command reading a labelled data set takes: --data-dir (required), --tasks,
/// --skip-bad, the DICOM tree flags and --dicom-window (train, evaluate, calibrate).
void add_labelled_data_flags(CLI::App& sub, std::string& dir, std::vector<std::string>& tasks,
                             bool& skip_bad, data::DicomTreeOptions& dicom, std::string& window);
void add_tasks_flag(CLI::App& sub, std::vector<std::string>& tasks);
void add_skip_bad_flag(CLI::App& sub, bool& skip_bad);
/// --labels, --body-part-map, --pseudonymize, --pseudonym-key: when --data-dir is a DICOM tree.
void add_dicom_tree_flags(CLI::App& sub, data::DicomTreeOptions& dicom);
/// --dicom-window N|NAME|minmax: which VOI window DICOM images are rendered with.
void add_dicom_window_flag(CLI::App& sub, std::string& window);
/// --split: which part of the data set (`names`: the command's choices).
void add_split_flag(CLI::App& sub, std::string& split, const NameTable<std::string>& names);

// ---- models and files
/// --checkpoint as input: one or more model files (an ensemble), required.
void add_checkpoints_in_flag(CLI::App& sub, std::vector<std::string>& paths, bool required = true);
/// --checkpoint as input, exactly one file.
CLI::Option* add_checkpoint_in_flag(CLI::App& sub, std::string& path);
/// --checkpoint as train's output (the same meaning: this run's model file).
void add_checkpoint_out_flag(CLI::App& sub, std::string& path);
void add_output_dir_flag(CLI::App& sub, std::string& dir, bool required = false);
void add_out_file_flag(CLI::App& sub, std::string& file, bool required = false);
void add_overwrite_flag(CLI::App& sub, bool& overwrite);
/// --dist-timeout-s: how long a process of a launched group (torchrun, srun, mpirun) waits
/// for the others in a collective before it stops with a message naming itself.
void add_dist_timeout_flag(CLI::App& sub, int& seconds);
/// --input/-i (required): what a convert-* command reads.
CLI::Option* add_input_flag(CLI::App& sub, std::string& input);
/// --valid-fraction: the share of patients a writer of data sets puts into valid/.
CLI::Option* add_valid_fraction_flag(CLI::App& sub, double& fraction);
/// --workers (--num_workers): loader/decoding threads; < 0 chosen, 0 the calling thread.
CLI::Option* add_workers_flag(CLI::App& sub, int& workers);
void add_batch_size_flag(CLI::App& sub, int& batch_size);
void add_seed_flag(CLI::App& sub, std::uint64_t& seed);
void add_image_size_flag(CLI::App& sub, int& size);
/// --model/--arch: an architecture of the registry.
CLI::Option* add_model_flag(CLI::App& sub, std::string& arch);
void add_json_flag(CLI::App& sub, bool& json);
/// --threshold: a number in (0, 1) (evaluate also takes youden); "" = the checkpoint's.
void add_threshold_flag(CLI::App& sub, std::string& threshold);
/// --bootstrap: resamples of the percentile bootstrap (evaluate, calibrate).
void add_bootstrap_flag(CLI::App& sub, std::size_t& resamples);
/// --tta none|flip into a bool.
void add_tta_flag(CLI::App& sub, bool& flip);

// ---- where and how it computes
struct RuntimeFlags {
  bool fold_batchnorm = false;  ///< --fold-bn (inference commands)
  bool deterministic = false;   ///< --deterministic (train)
};
/// --device, --precision/--amp, --channels-last, --threads, --workers (+ the optional ones).
void add_runtime_flags(CLI::App& sub, RuntimeOptions& runtime, RuntimeFlags which = {});

// ---- Grad-CAM and the report
void add_cam_flags(CLI::App& sub, explain::CamMethod& method, double& alpha);
/// --gradcam: one meaning, Grad-CAM for every image scored. predict takes the folder its
/// pictures go to (--gradcam DIR); serve is switched on (--gradcam) and answers ?gradcam=1.
void add_gradcam_dir_flag(CLI::App& sub, std::string& dir);
void add_gradcam_switch_flag(CLI::App& sub, bool& on);
/// --gallery N, --thumb-size: the report's Grad-CAM gallery (report, evaluate --report).
void add_gallery_flags(CLI::App& sub, report::GalleryOptions& gallery, std::size_t& gallery_size);

// ---- the console
/// --quiet/-q and --no-progress (every subcommand).
void add_console_flags(CLI::App& sub, ConsoleOptions& console);

/// A transform that accepts the table's names (and aliases) and stores the canonical one.
CLI::Validator name_choice(const NameTable<std::string>& table);

/// A check that accepts the names of an enum's table (the option's callback parses them).
template <class E>
CLI::Validator enum_choice(const NameTable<E>& table) {
  return CLI::Validator(
      [&table](std::string& v) -> std::string {
        return table.accepts(v) ? ""
                                : "expected " + join_choices(table.choices()) + ", got '" + v + "'";
      },
      join_choices(table.choices()), "");
}

}  // namespace mura::cli
