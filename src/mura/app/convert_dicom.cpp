#include "mura/app/convert_dicom.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <thread>

#include "mura/app/common.h"
#include "mura/data/dicom_tree.h"
#include "mura/data/image.h"
#include "mura/data/split.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura::app {
namespace fs = std::filesystem;

namespace {

struct Planned {
  std::size_t image;  // index into the data set
  std::string rel;    // "train/XR_HAND/patient00001/study1_positive/image1.png"
};

ConvertDicomResult convert(const ConvertDicomOptions& o, Sink& sink) {
  MURA_CHECK(!o.input.empty(), "--input: give the DICOM tree to convert");
  MURA_CHECK(!o.out.empty(), "--out: give the folder the data set is written to");
  MURA_CHECK(o.valid_fraction >= 0 && o.valid_fraction < 1, "--valid-fraction must be in [0, 1)");
  const fs::path out = fs::absolute(fs::path(o.out)).lexically_normal();
  const fs::path root = out.filename().empty() ? out.parent_path() : out;
  const fs::path key = o.key_out.empty() ? fs::path(root.string() + ".key.csv")
                                         : fs::absolute(o.key_out).lexically_normal();
  {
    const auto rel = key.lexically_relative(root);
    MURA_CHECK(rel.empty() || *rel.begin() == "..",
               "--key-out " + key.string() +
                   ": the pseudonym key must not be inside the data set " + root.string());
  }
  std::error_code ec;
  if (fs::exists(root, ec) && !o.overwrite)
    throw Error("--out " + root.string() + " exists; pass --overwrite to replace it");
  if (fs::exists(key, ec) && !o.overwrite)
    throw Error("--key-out " + key.string() + " exists; pass --overwrite to replace it");

  data::DicomTreeOptions dicom = o.dicom;
  dicom.split = data::Split::Train;
  dicom.require_labels = true;
  dicom.pseudonymize = false;  // the UIDs go to the key file only
  MURA_CHECK(data::is_dicom_tree(o.input),
             "--input " + o.input + ": no DICOM files below this folder");
  data::Dataset ds = open_dataset(o.input, o.tasks, o.skip_bad, sink, dicom);
  MURA_CHECK(ds.dicom_tree, "--input " + o.input + " is a MURA layout already, not a DICOM tree");

  // Split by patient, then name studies per patient in UID order.
  const auto sp = data::split_patients(ds, {o.valid_fraction, o.seed, data::Split::Train});
  std::vector<bool> in_valid(ds.images.size(), false);
  for (std::size_t i : sp.val_images) in_valid[i] = true;
  const std::string root_name = root.filename().string();
  std::map<std::string, std::size_t> studies_of_patient;
  std::vector<Planned> plan;
  std::ostringstream key_csv;
  key_csv << "# mura convert-dicom pseudonym key: study folder -> StudyInstanceUID. Keep it apart "
             "from the data set.\n";
  key_csv << "study_folder,StudyInstanceUID\n";
  struct StudyOut {
    std::string folder;  // "train/XR_HAND/patient00001/study1_positive/"
    int label;
    std::vector<std::size_t> planned;
  };
  std::vector<StudyOut> studies;
  for (const auto& st : ds.studies) {
    const bool valid = in_valid[st.images.front()];
    const std::size_t k = ++studies_of_patient[st.patient_id];
    StudyOut so;
    so.folder = std::string(valid ? "valid/" : "train/") + st.body_part + "/" + st.patient_id +
                "/study" + std::to_string(k) + (st.label == 1 ? "_positive/" : "_negative/");
    so.label = st.label;
    for (std::size_t j = 0; j < st.images.size(); ++j) {
      so.planned.push_back(plan.size());
      plan.push_back({st.images[j], so.folder + "image" + std::to_string(j + 1) + ".png"});
    }
    key_csv << root_name << "/" << so.folder << "," << st.mura_path << "\n";
    studies.push_back(std::move(so));
  }

  // Render into a temporary folder beside the target.
  const fs::path tmp =
      root.parent_path() / ("." + root_name + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw Error("--out: cannot create " + tmp.string() + ": " + ec.message());
  struct Cleanup {
    fs::path p;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(p, e);
    }
  } cleanup{tmp};

  data::DecodeOptions dec;
  dec.max_pixels = dicom.max_pixels;
  dec.dicom_window = o.dicom_window;
  std::vector<std::string> errors(plan.size());
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex write_error_mutex;
  std::string write_error;
  const int threads = o.workers > 0 ? o.workers
                      : o.workers == 0
                          ? 1
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto work = [&] {
    for (std::size_t i = next++; i < plan.size(); i = next++) {
      const fs::path file = ds.images[plan[i].image].file;
      try {
        const cv::Mat gray = data::load_gray(file, dec);
        const fs::path dst = tmp / plan[i].rel;
        std::error_code e;
        fs::create_directories(dst.parent_path(), e);
        std::vector<uchar> png;
        if (!cv::imencode(".png", gray, png)) throw Error(dst.string() + ": cannot encode the PNG");
        write_file_atomic(dst,
                          std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
      } catch (const Error& e) {
        const std::string what = e.what();
        if (what.rfind(file.string(), 0) == 0) {
          errors[i] = what;  // a problem of the DICOM file: leave it out
        } else {
          std::lock_guard<std::mutex> lock(write_error_mutex);
          if (write_error.empty()) write_error = what;  // a problem of the output: stop
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(write_error_mutex);
        if (write_error.empty()) write_error = file.string() + ": " + e.what();
      }
      const std::size_t d = ++done;
      std::lock_guard<std::mutex> lock(write_error_mutex);  // the sink is not thread-safe
      ProgressEvent ev;
      ev.stage = "convert";
      ev.done = ev.images = d;
      ev.total = plan.size();
      sink.progress(ev);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (!write_error.empty()) throw Error("--out: " + write_error);

  ConvertDicomResult r;
  std::ostringstream csv[2][2];  // [valid][0: image paths, 1: labeled studies]
  std::map<std::string, bool> patients;
  for (const auto& so : studies) {
    const bool valid = so.folder.rfind("valid/", 0) == 0;
    std::size_t kept = 0;
    for (std::size_t p : so.planned) {
      if (!errors[p].empty()) {
        sink.warn(errors[p] + "; left out");
        ++r.failed_images;
        continue;
      }
      csv[valid][0] << root_name << "/" << plan[p].rel << "\n";
      ++kept;
    }
    if (!kept) continue;
    csv[valid][1] << root_name << "/" << so.folder << "," << so.label << "\n";
    r.images += kept;
    ++r.studies;
    patients[ds.studies[&so - studies.data()].patient_id] = true;
  }
  MURA_CHECK(r.images > 0, "--input " + o.input + ": no image could be rendered");
  r.patients = patients.size();
  write_file_atomic(tmp / "train_image_paths.csv", csv[0][0].str());
  write_file_atomic(tmp / "train_labeled_studies.csv", csv[0][1].str());
  write_file_atomic(tmp / "valid_image_paths.csv", csv[1][0].str());
  write_file_atomic(tmp / "valid_labeled_studies.csv", csv[1][1].str());

  // Into place: the old data set (with --overwrite) goes only once the new one is complete.
  const fs::path old =
      root.parent_path() / ("." + root_name + ".old-" + std::to_string(::getpid()));
  const bool replacing = fs::exists(root, ec);
  if (replacing) {
    fs::rename(root, old, ec);
    if (ec)
      throw Error("--out " + root.string() +
                  ": cannot move the old data set away: " + ec.message());
  }
  fs::rename(tmp, root, ec);
  if (ec) {
    std::error_code e2;
    if (replacing) fs::rename(old, root, e2);
    throw Error("--out " + root.string() +
                ": cannot move the new data set into place: " + ec.message());
  }
  cleanup.keep = true;
  if (replacing) fs::remove_all(old, ec);
  write_file_atomic(key, key_csv.str());
  r.root = root.string();
  r.key_file = key.string();
  return r;
}

}  // namespace

ConvertDicomResult run_convert_dicom(const ConvertDicomOptions& options, Sink& sink) {
  return at_boundary("converting " + options.input, [&] { return convert(options, sink); });
}

}  // namespace mura::app
