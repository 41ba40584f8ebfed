#include "flags.h"

#include <fstream>
#include <sstream>

#include "mura/explain/gradcam.h"
#include "mura/util/error.h"

namespace mura::cli {

namespace {

const char* const kCheckpointHelp =
    "the run's model file (mura checkpoint): train writes it, "
    "evaluate/predict/explain/report/export/info read it "
    "(several: an ensemble, mean probability)";

template <class E>
std::string choices_of(const NameTable<E>& t) {
  return join_choices(t.choices());
}

}  // namespace

CLI::Validator name_choice(const NameTable<std::string>& table) {
  return CLI::Validator(
      [&table](std::string& value) -> std::string {
        if (!table.accepts(value))
          return "expected " + join_choices(table.choices()) + ", got '" + value + "'";
        value = table.canonical(value);
        return "";
      },
      join_choices(table.choices()), "");
}

void add_data_dir_flag(CLI::App& sub, std::string& dir, bool required) {
  auto* o = sub.add_option(
      "--data-dir,--data_dir", dir,
      "data set in the MURA-v1.1 layout (the root, with train_image_paths.csv ..., or its parent), "
      "or a folder of DICOM files in any layout (a DICOM tree, labelled by a CSV of study UIDs)");
  if (required) o->required();
}

void add_tasks_flag(CLI::App& sub, std::vector<std::string>& tasks) {
  sub.add_option("--tasks,--body-parts", tasks,
                 "body parts to keep, comma-separated (e.g. ELBOW,XR_WRIST)")
      ->default_str("all");
}

void add_skip_bad_flag(CLI::App& sub, bool& skip_bad) {
  sub.add_flag("--skip-bad,--skip_bad", skip_bad,
               "skip bad data set entries (missing images, malformed lines, label mismatches) and "
               "print their "
               "counts, instead of failing");
}

void add_dicom_tree_flags(CLI::App& sub, data::DicomTreeOptions& d) {
  sub.add_option("--labels", d.labels,
                 "DICOM trees: headerless CSV of 'StudyInstanceUID,label' lines (1 = abnormal)")
      ->check(CLI::ExistingFile)
      ->default_str("none: unlabelled");
  sub.add_option("--body-part-map", d.body_part_map,
                 "DICOM trees: CSV of 'KEY,PART' lines, KEY a StudyInstanceUID or BodyPartExamined "
                 "term, PART a MURA body part; overrides the headers")
      ->check(CLI::ExistingFile)
      ->default_str("none: the headers");
  sub.add_flag(
      "--pseudonymize", d.pseudonymize,
      "DICOM trees: name studies by a keyed hash of their StudyInstanceUID in every output");
  sub.add_option_function<std::string>(
         "--pseudonym-key",
         [&d](const std::string& file) {
           std::ifstream in(file, std::ios::binary);
           if (!in) throw CLI::ValidationError("--pseudonym-key", "cannot read " + file);
           std::ostringstream ss;
           ss << in.rdbuf();
           d.pseudonym_key = ss.str();
           if (d.pseudonym_key.size() < 16)
             throw CLI::ValidationError("--pseudonym-key", file + " holds fewer than 16 bytes");
           d.pseudonymize = true;
         },
         "file whose bytes key the study pseudonyms (same key: same names across runs); "
         "implies pseudonymising")
      ->check(CLI::ExistingFile)
      ->default_str("a random key per run");
}

void add_dicom_window_flag(CLI::App& sub, std::string& window) {
  sub.add_option("--dicom-window", window,
                 "DICOM VOI: N (the N-th Window Center/Width, from 1), a window's Explanation, or "
                 "minmax; default: the file's first window, else its first VOI LUT, else min/max")
      ->default_str("first");
}

void add_split_flag(CLI::App& sub, std::string& split, const NameTable<std::string>& names) {
  sub.add_option("--split", split,
                 "which part of the data set: train or valid (the official splits), heldout (the "
                 "checkpoint's "
                 "patient-level validation part of train)")
      ->transform(name_choice(names));
}

void add_checkpoints_in_flag(CLI::App& sub, std::vector<std::string>& paths, bool required) {
  auto* o =
      sub.add_option("--checkpoint,--checkpoint_path,--checkpoint-path", paths, kCheckpointHelp)
          ->take_all();
  if (required) o->required();
}

CLI::Option* add_checkpoint_in_flag(CLI::App& sub, std::string& path) {
  return sub.add_option("--checkpoint,--checkpoint_path,--checkpoint-path", path, kCheckpointHelp);
}

void add_checkpoint_out_flag(CLI::App& sub, std::string& path) {
  sub.add_option("--checkpoint,--checkpoint_path,--checkpoint-path", path, kCheckpointHelp)
      ->default_str("OUTPUT_DIR/best.ckpt");
}

void add_output_dir_flag(CLI::App& sub, std::string& dir, bool required) {
  auto* o = sub.add_option("--output-dir,--output_dir", dir,
                           "the folder this command writes its files into");
  if (required) o->required();
}

void add_out_file_flag(CLI::App& sub, std::string& file, bool required) {
  auto* o = sub.add_option("--out,--output,-o", file,
                           "the one output this command writes: a file (report, export, "
                           "convert-weights, calibrate) or a data set root (convert-dicom)");
  if (required) o->required();
}

CLI::Option* add_input_flag(CLI::App& sub, std::string& input) {
  return sub
      .add_option("--input,-i", input,
                  "what this command converts: a torchvision .pth file (convert-weights), a "
                  "DICOM tree in any folder layout (convert-dicom)")
      ->required();
}

CLI::Option* add_valid_fraction_flag(CLI::App& sub, double& fraction) {
  return sub.add_option("--valid-fraction,--valid_fraction", fraction,
                        "share of patients written to the valid split (per body part in "
                        "convert-dicom)");
}

CLI::Option* add_workers_flag(CLI::App& sub, int& workers) {
  return sub
      .add_option("--workers,--num-workers,--num_workers", workers,
                  "loader threads (default: chosen from the cores; 0 decodes on the main thread)")
      ->check(CLI::Range(0, 256))
      ->default_str("auto");
}

void add_overwrite_flag(CLI::App& sub, bool& overwrite) {
  sub.add_flag("--overwrite,--force", overwrite,
               "replace what an earlier run left in the output place");
}

void add_dist_timeout_flag(CLI::App& sub, int& seconds) {
  sub.add_option("--dist-timeout-s", seconds,
                 "launched by torchrun/srun/mpirun: seconds to wait for the other processes in a "
                 "collective before stopping with an error (0: c10d's default, 30 min)")
      ->check(CLI::Range(0, 86400));
}

void add_batch_size_flag(CLI::App& sub, int& batch_size) {
  sub.add_option("--batch-size,--batch_size", batch_size, "images per batch")
      ->check(CLI::Range(1, 65536));
}

void add_seed_flag(CLI::App& sub, std::uint64_t& seed) {
  sub.add_option("--seed", seed,
                 "seed of everything random the command does (same seed, same result)");
}

void add_image_size_flag(CLI::App& sub, int& size) {
  sub.add_option("--img-size,--img_size,--image-size", size,
                 "model input size, px (224; 320 in the MURA paper)")
      ->check(CLI::Range(16, 2048));
}

CLI::Option* add_model_flag(CLI::App& sub, std::string& arch) {
  return sub.add_option("--model,--arch", arch,
                        "architecture: resnet18..152, densenet121..201, efficientnet_b0..b7, "
                        "efficientnet_v2_s/m/l, convnext_tiny/small/base");
}

void add_json_flag(CLI::App& sub, bool& json) {
  sub.add_flag("--json", json, "print JSON instead of a table");
}

void add_labelled_data_flags(CLI::App& sub, std::string& dir, std::vector<std::string>& tasks,
                             bool& skip_bad, data::DicomTreeOptions& dicom, std::string& window) {
  add_data_dir_flag(sub, dir);
  add_tasks_flag(sub, tasks);
  add_skip_bad_flag(sub, skip_bad);
  add_dicom_tree_flags(sub, dicom);
  add_dicom_window_flag(sub, window);
}

void add_threshold_flag(CLI::App& sub, std::string& threshold) {
  sub.add_option("--threshold", threshold,
                 "decision threshold on P(abnormal): a number in (0, 1); evaluate, calibrate "
                 "and train (at the end, on its validation set, into the best checkpoint) also "
                 "take an operating point chosen on their labelled studies: youden, "
                 "sensitivity:X (the most specific point with sensitivity >= X), specificity:X; "
                 "evaluate's default 'checkpoint' is the checkpoint's own");
}

void add_bootstrap_flag(CLI::App& sub, std::size_t& resamples) {
  sub.add_option("--bootstrap", resamples, "bootstrap resamples for the 95% intervals (0: off)");
}

void add_tta_flag(CLI::App& sub, bool& flip) {
  static const NameTable<std::string> tta("--tta",
                                          {{"none", "none", {"off"}}, {"flip", "flip", {"hflip"}}});
  sub.add_option_function<std::string>(
         "--tta", [&flip](const std::string& v) { flip = tta.canonical(v) == "flip"; },
         "test-time augmentation: none, or flip (mean with the mirrored image)")
      ->transform(name_choice(tta))
      ->default_str("none");
}

namespace {
const char* kGradcamHelp =
    "Grad-CAM for every image scored: predict writes the pictures into the folder given "
    "(--gradcam DIR); serve is started with it (--gradcam) to answer ?gradcam=1 and show the "
    "page's heatmap panels";
}  // namespace

void add_gradcam_dir_flag(CLI::App& sub, std::string& dir) {
  sub.add_option("--gradcam", dir, kGradcamHelp)->default_str("none");
}

void add_gradcam_switch_flag(CLI::App& sub, bool& on) {
  sub.add_flag("--gradcam", on, kGradcamHelp);
}

void add_runtime_flags(CLI::App& sub, RuntimeOptions& rt, RuntimeFlags which) {
  sub.add_option("--device", rt.device, "where the model runs: auto (CUDA when present), cpu, cuda")
      ->transform(name_choice(device_names()));
  sub.add_option("--precision", rt.precision,
                 "auto (bf16 where the CPU/GPU computes it natively, else fp32), fp32, bf16, fp16 "
                 "(CUDA; training "
                 "uses loss scaling), amp (low precision even where auto would not)")
      ->transform(name_choice(precision_request_names()));
  sub.add_flag_callback(
      "--amp", [&rt] { rt.precision = "amp"; },
      "mixed precision: bf16 autocast (fp16 on a GPU without bf16), as precision amp");
  sub.add_flag("--channels-last,!--no-channels-last", rt.channels_last,
               "channels-last memory format for the model and its batches");
  sub.add_option("--threads", rt.threads, "compute threads (0: chosen from the cores)")
      ->check(CLI::Range(0, 1024));
  add_workers_flag(sub, rt.workers);
  if (which.fold_batchnorm)
    sub.add_flag("--fold-bn,!--no-fold-bn", rt.fold_batchnorm,
                 "fold BatchNorm into the convolutions before inference");
  if (which.deterministic)
    sub.add_flag("--deterministic", rt.deterministic,
                 "CUDA: deterministic algorithms instead of cuDNN's autotuner");
}

void add_cam_flags(CLI::App& sub, explain::CamMethod& method, double& alpha) {
  sub.add_option_function<std::string>(
         "--method", [&method](const std::string& v) { method = explain::parse_cam_method(v); },
         "Grad-CAM method: " + choices_of(explain::cam_method_names()))
      ->check(enum_choice(explain::cam_method_names()))
      ->default_str(explain::cam_method_name(method));
  sub.add_option("--alpha", alpha, "heatmap weight in the overlay")->check(CLI::Range(0.0, 1.0));
}

void add_gallery_flags(CLI::App& sub, report::GalleryOptions& gallery, std::size_t& gallery_size) {
  sub.add_option("--gallery", gallery_size,
                 "Grad-CAM gallery of the report: up to N most confident false positives, N false "
                 "negatives and "
                 "(N+1)/2 true positives; 0: none")
      ->check(CLI::Range(0, 50));
  sub.add_option("--thumb-size,--thumb_size", gallery.thumb_size,
                 "longest side of a gallery picture, px")
      ->check(CLI::Range(64, 1024));
}

void add_console_flags(CLI::App& sub, ConsoleOptions& console) {
  sub.add_flag("--quiet,-q", console.quiet, "print only results, warnings and errors");
  sub.add_flag_callback(
      "--no-progress", [&console] { console.progress = false; }, "no progress bar");
}

}  // namespace mura::cli
