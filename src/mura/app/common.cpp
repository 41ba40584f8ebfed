#include "mura/app/common.h"

#include <nlohmann/json.hpp>

#include "mura/data/split.h"
#include "mura/models/optimize.h"
#include "mura/util/error.h"

namespace mura::app {

void report_index(const data::Dataset& ds, Sink& sink) {
  for (const auto& [kind, n] : ds.report.skipped)
    sink.warn("skipped " + std::to_string(n) + (n == 1 ? " entry (" : " entries (") + kind + ")");
  for (const auto& line : ds.report.file_problems) sink.warn(line);
  for (const auto& [why, n] : ds.report.excluded)
    sink.info("left out " + std::to_string(n) + " file(s): " + why);
  if (ds.report.ignored_files)
    sink.info("ignored " + std::to_string(ds.report.ignored_files) +
              " file(s) that are not images in the layout (._*, .DS_Store, ...)");
  if (ds.dicom_tree)
    for (const auto& n : ds.report.notes) sink.info(n);
}

data::Dataset open_dataset(const std::string& dir, const std::vector<std::string>& tasks,
                           bool skip_bad, Sink& sink, const data::DicomTreeOptions& dicom) {
  data::IndexOptions opt;
  opt.on_bad = skip_bad ? data::BadEntryPolicy::Skip : data::BadEntryPolicy::Fail;
  opt.dicom = dicom;
  data::Dataset ds = data::index_dataset(dir, opt);
  report_index(ds, sink);
  try {
    return data::filter_body_parts(ds, data::parse_task_list(tasks));
  } catch (const Error& e) {
    throw Error(std::string("--tasks: ") + e.what());
  }
}

std::vector<weights::Checkpoint> load_for_inference(const std::vector<std::string>& paths,
                                                    const Runtime& rt) {
  MURA_CHECK(!paths.empty(), "--checkpoint: give at least one checkpoint");
  std::vector<weights::Checkpoint> out;
  for (const auto& c : paths) {
    out.push_back(weights::load_checkpoint(c, rt.device));
    models::prepare_for_inference(*out.back().model, {rt.fold_batchnorm, rt.channels_last});
  }
  return out;
}

std::vector<std::shared_ptr<models::ClassifierImpl>> models_of(
    const std::vector<weights::Checkpoint>& checkpoints) {
  std::vector<std::shared_ptr<models::ClassifierImpl>> out;
  for (const auto& c : checkpoints) out.push_back(c.model);
  return out;
}

void check_same_geometry(const std::vector<weights::Checkpoint>& c,
                         const std::vector<std::string>& paths) {
  for (std::size_t i = 1; i < c.size(); ++i)
    if (c[i].spec.image_size != c[0].spec.image_size || c[i].spec.mean != c[0].spec.mean ||
        c[i].spec.std != c[0].spec.std)
      throw Error(
          "--checkpoint: the ensemble's members need the same input size and normalisation (" +
          paths[i] + " differs from " + paths[0] + ")");
}

std::vector<std::size_t> held_out_images(const data::Dataset& ds, const weights::Checkpoint& ckpt,
                                         const std::string& path) {
  weights::HeldOutSplit sp = ckpt.state.split;
  if (!sp.recorded) {
    if (ckpt.state.options_json == "{}")
      throw Error(
          "--split heldout: " + path +
          " records no training options (seed, val split) to rebuild the held-out patients from");
    try {
      const auto j = nlohmann::json::parse(ckpt.state.options_json);
      sp.val_fraction = j.value("val_split", sp.val_fraction);
      sp.seed = j.value("seed", sp.seed);
      sp.val_source = j.value("val_source", sp.val_source);
    } catch (const nlohmann::json::exception& e) {
      throw Error("--split heldout: " + path + ": damaged training options (" + e.what() + ")");
    }
  }
  auto idx = data::split_patients(ds, {sp.val_fraction, sp.seed, data::Split::Train}).val_images;
  MURA_CHECK(!idx.empty(), "--split heldout: no held-out images (was --val-split 0?)");
  return idx;
}

data::LoaderOptions inference_loader_options(const weights::ModelSpec& spec, int batch_size,
                                             const std::string& dicom_window, const Runtime& rt) {
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.decode.dicom_window = dicom_window;
  lo.workers = rt.threads.loader_workers;
  lo.channels_last = rt.channels_last;
  lo.pin_memory = rt.device.is_cuda();
  lo.transform = data::TransformOptions::evaluation(spec.image_size);
  lo.transform.mean = spec.mean;
  lo.transform.std = spec.std;
  if (!rt.device.is_cuda()) lo.cache = data::CacheMode::Memory;
  return lo;
}

std::vector<std::size_t> evaluation_images(const data::Dataset& ds, const std::string& split,
                                           const weights::Checkpoint& ckpt,
                                           const std::string& path) {
  if (split != "valid") return held_out_images(ds, ckpt, path);
  auto idx = ds.images_of(data::Split::Valid);
  MURA_CHECK(!idx.empty(), "--split valid: the data set has no valid split");
  return idx;
}

}  // namespace mura::app
