#include "mura/app/common.h"

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

}  // namespace mura::app
