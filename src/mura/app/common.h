#pragma once
/// Pieces every composition shares: opening a data set with its bad-entry policy, loading
/// checkpoints for inference, the models of an ensemble.
#include <memory>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/data/loader.h"
#include "mura/models/classifier.h"
#include "mura/util/runtime.h"
#include "mura/util/sink.h"
#include "mura/weights/checkpoint.h"

namespace mura::app {

/// Indexes `dir` (skipping bad entries when `skip_bad`, with their counts as warnings) and
/// keeps the body parts in `tasks` (empty: all). Errors name --data-dir / --tasks.
/// A DICOM tree is indexed with `dicom` (its per-file problems are warnings, its left-out
/// files and notes info lines).
data::Dataset open_dataset(const std::string& dir, const std::vector<std::string>& tasks,
                           bool skip_bad, Sink& sink, const data::DicomTreeOptions& dicom = {});

/// Sends an indexed data set's report to the sink: skipped entries and per-file problems as
/// warnings, ignored and left-out files and notes as info.
void report_index(const data::Dataset& ds, Sink& sink);

/// Loads each checkpoint onto the runtime's device and prepares it for inference (eval
/// mode, BatchNorm folded and channels-last as the runtime says). Throws mura::Error naming
/// --checkpoint when none is given or one cannot be read.
std::vector<weights::Checkpoint> load_for_inference(const std::vector<std::string>& paths,
                                                    const Runtime& runtime);

/// The models of loaded checkpoints, in order.
std::vector<std::shared_ptr<models::ClassifierImpl>> models_of(
    const std::vector<weights::Checkpoint>& checkpoints);

/// Throws mura::Error naming --checkpoint when the members of an ensemble differ in input
/// size or normalisation (they must share one loader).
void check_same_geometry(const std::vector<weights::Checkpoint>& checkpoints,
                         const std::vector<std::string>& paths);

/// The loader settings of every inference over files: `batch_size`, evaluation transforms at
/// the spec's size and normalisation, `dicom_window`, the runtime's loader workers,
/// channels-last input and pinned memory on a GPU, and on a CPU a memory cache (decode
/// everything first with every core, then run the models with every core).
data::LoaderOptions inference_loader_options(const weights::ModelSpec& spec, int batch_size,
                                             const std::string& dicom_window, const Runtime& rt);

/// The images of the held-out patients of the run that wrote `ckpt` (`--split heldout`): its
/// split record, or for older checkpoints its training options. `path` names it in errors.
std::vector<std::size_t> held_out_images(const data::Dataset& ds, const weights::Checkpoint& ckpt,
                                         const std::string& path);

/// The images `split` names: "valid" (the data set's official valid split) or "heldout"
/// (held_out_images of the first checkpoint). Errors name --split.
std::vector<std::size_t> evaluation_images(const data::Dataset& ds, const std::string& split,
                                           const weights::Checkpoint& ckpt,
                                           const std::string& path);

}  // namespace mura::app
