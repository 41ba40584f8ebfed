#include "mura/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "mura/data/dicom_tree.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data {
namespace fs = std::filesystem;

const char* split_name(Split s) {
  return s == Split::Train ? "train" : "valid";
}

Split parse_split(const std::string& name) {
  const std::string n = to_lower(name);
  if (n == "train") return Split::Train;
  if (n == "valid") return Split::Valid;
  throw Error("unknown split '" + name + "' (expected 'train' or 'valid')");
}

const char* issue_kind_name(Issue::Kind k) {
  switch (k) {
    case Issue::Kind::MalformedLine:
      return "malformed line";
    case Issue::Kind::MissingImage:
      return "missing image";
    case Issue::Kind::LabelMismatch:
      return "label mismatch";
    case Issue::Kind::UnlabeledStudy:
      return "unlabelled study";
    case Issue::Kind::DuplicateEntry:
      return "duplicate entry";
  }
  return "issue";
}

std::string Issue::to_string() const {
  return location(file, line) + message;
}

bool Dataset::has_split(Split s) const {
  return std::any_of(images.begin(), images.end(),
                     [s](const ImageRecord& r) { return r.split == s; });
}

std::vector<std::size_t> Dataset::images_of(Split s) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < images.size(); ++i)
    if (images[i].split == s) out.push_back(i);
  return out;
}

std::vector<std::string> Dataset::body_parts() const {
  std::set<std::string> parts;
  for (const auto& s : studies) parts.insert(s.body_part);
  return {parts.begin(), parts.end()};
}

namespace {

const char* const kCsvNames[] = {"train_image_paths.csv", "train_labeled_studies.csv",
                                 "valid_image_paths.csv", "valid_labeled_studies.csv"};

bool looks_like_root(const fs::path& p) {
  std::error_code ec;
  for (const char* name : kCsvNames)
    if (fs::is_regular_file(p / name, ec)) return true;
  return fs::is_directory(p / "train", ec) || fs::is_directory(p / "valid", ec);
}

bool is_hidden(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

bool has_image_extension(const fs::path& p) {
  const std::string ext = to_lower(p.extension().string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

/// "image2" < "image10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end(), [](const fs::path& x, const fs::path& y) {
    return natural_less(x.filename().string(), y.filename().string());
  });
  return out;
}

/// A MURA path split into its components; `rest` is the path below the root's name.
struct MuraPath {
  std::string root, split, part, patient, study, image;
  std::string study_key() const { return split + "/" + part + "/" + patient + "/" + study + "/"; }
  std::string image_key() const { return study_key() + image; }
};

std::optional<int> label_from_study_folder(const std::string& study) {
  if (ends_with(study, "_positive")) return 1;
  if (ends_with(study, "_negative")) return 0;
  return std::nullopt;
}

/// Parses "ROOT/SPLIT/XR_PART/PATIENT/STUDY/IMAGE" (or ".../STUDY/" when `is_study`).
/// Returns an explanation on failure.
std::optional<std::string> parse_mura_path(std::string text, bool is_study, Split expected,
                                           MuraPath& out) {
  std::replace(text.begin(), text.end(), '\\', '/');
  while (starts_with(text, "./")) text.erase(0, 2);
  const char* shape = is_study ? "<root>/<split>/XR_<PART>/<patient>/<study>/"
                               : "<root>/<split>/XR_<PART>/<patient>/<study>/<image>";
  if (is_study) {
    if (!ends_with(text, "/")) return std::string("a study path must end with '/'");
    text.pop_back();
  }
  const auto parts = split(text, '/');
  const std::size_t want = is_study ? 5 : 6;
  if (parts.size() != want)
    return "expected " + std::string(shape) + ", got " + std::to_string(parts.size()) +
           " path component(s)";
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == "..") return "empty, '.' or '..' path component";
  if (parts[1] != split_name(expected))
    return "path is in split '" + parts[1] + "', but this file lists the '" + split_name(expected) +
           "' split";
  if (!starts_with(to_upper(parts[2]), "XR_"))
    return "body part folder '" + parts[2] + "' does not start with XR_";
  out.root = parts[0];
  out.split = parts[1];
  out.part = parts[2];
  out.patient = parts[3];
  out.study = parts[4];
  if (!is_study) out.image = parts[5];
  return std::nullopt;
}

struct CsvLine {
  std::size_t number;
  std::string text;
};

std::vector<CsvLine> read_csv_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open " + file.string());
  std::vector<CsvLine> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (n == 1 && starts_with(line, "\xEF\xBB\xBF")) line.erase(0, 3);  // UTF-8 BOM
    std::string t(trim(line));
    if (t.empty()) continue;
    out.push_back({n, std::move(t)});
  }
  return out;
}

std::string unquote(std::string s) {
  s = std::string(trim(s));
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

struct StudyLabel {
  int label;
  std::size_t line;
  bool bad;  // label disagrees with the folder
};

/// Indexes one split into `ds`, appending problems to `issues`.
class SplitIndexer {
 public:
  SplitIndexer(Dataset& ds, Split split, const IndexOptions& opt, std::vector<Issue>& issues,
               std::unordered_set<std::size_t>& bad_images)
      : ds_(ds), split_(split), opt_(opt), issues_(issues), bad_images_(bad_images) {}

  void run() {
    const std::string sp = split_name(split_);
    const fs::path images_csv = ds_.root / (sp + "_image_paths.csv");
    const fs::path studies_csv = ds_.root / (sp + "_labeled_studies.csv");
    std::error_code ec;
    has_labels_csv_ = fs::is_regular_file(studies_csv, ec);
    if (has_labels_csv_) read_labels(studies_csv);
    if (fs::is_regular_file(images_csv, ec)) {
      read_images_csv(images_csv);
    } else if (fs::is_directory(ds_.root / sp, ec)) {
      ds_.report.notes.push_back(sp + ": no " + images_csv.filename().string() + ", walked the " +
                                 sp + "/ folder");
      walk(ds_.root / sp);
    } else if (has_labels_csv_) {
      ds_.report.notes.push_back(sp + ": " + studies_csv.filename().string() +
                                 " present but neither image list nor " + sp + "/ folder");
    }
    std::size_t empty = 0;
    for (const auto& [key, lab] : labels_)
      if (!used_studies_.count(key)) ++empty;
    if (empty)
      ds_.report.notes.push_back(sp + ": " + std::to_string(empty) + " labelled stud" +
                                 (empty == 1 ? "y has" : "ies have") + " no images");
  }

 private:
  void add_issue(Issue::Kind kind, const fs::path& file, std::size_t line, std::string msg) {
    issues_.push_back({kind, file.string(), line, std::move(msg)});
  }

  void remember_root_name(const std::string& name) {
    if (ds_.root_name.empty()) ds_.root_name = name;
  }

  void read_labels(const fs::path& csv) {
    for (const auto& [num, text] : read_csv_lines(csv)) {
      const auto fields = split(text, ',');
      if (fields.size() != 2) {
        add_issue(Issue::Kind::MalformedLine, csv, num,
                  "expected '<study path>/,<label>' (2 fields), got " +
                      std::to_string(fields.size()) + " field(s): '" + text + "'");
        continue;
      }
      MuraPath mp;
      if (auto why = parse_mura_path(unquote(fields[0]), true, split_, mp)) {
        add_issue(Issue::Kind::MalformedLine, csv, num, *why + ": '" + text + "'");
        continue;
      }
      const std::string lab = unquote(fields[1]);
      if (lab != "0" && lab != "1") {
        add_issue(Issue::Kind::MalformedLine, csv, num, "label must be 0 or 1, got '" + lab + "'");
        continue;
      }
      remember_root_name(mp.root);
      const std::string key = mp.study_key();
      if (auto it = labels_.find(key); it != labels_.end()) {
        add_issue(Issue::Kind::DuplicateEntry, csv, num,
                  "study '" + key + "' is listed twice (first at line " +
                      std::to_string(it->second.line) + ")");
        continue;
      }
      StudyLabel sl{lab == "1" ? 1 : 0, num, false};
      if (auto folder = label_from_study_folder(mp.study); folder && *folder != sl.label) {
        add_issue(Issue::Kind::LabelMismatch, csv, num,
                  "study '" + fields[0] + "' is labelled " + lab + " but its folder says " +
                      (*folder ? "positive (1)" : "negative (0)"));
        sl.bad = true;
      }
      labels_.emplace(key, sl);
    }
  }

  void read_images_csv(const fs::path& csv) {
    std::unordered_map<std::string, std::size_t> seen;
    for (const auto& [num, text] : read_csv_lines(csv)) {
      const auto fields = split(text, ',');
      if (fields.size() != 1) {
        add_issue(Issue::Kind::MalformedLine, csv, num,
                  "expected one image path per line, got " + std::to_string(fields.size()) +
                      " fields: '" + text + "'");
        continue;
      }
      MuraPath mp;
      if (auto why = parse_mura_path(unquote(fields[0]), false, split_, mp)) {
        add_issue(Issue::Kind::MalformedLine, csv, num, *why + ": '" + text + "'");
        continue;
      }
      remember_root_name(mp.root);
      const std::string key = mp.image_key();
      if (auto [it, fresh] = seen.emplace(key, num); !fresh) {
        add_issue(Issue::Kind::DuplicateEntry, csv, num,
                  "image '" + key + "' is listed twice (first at line " +
                      std::to_string(it->second) + ")");
        continue;
      }
      add_image(mp, csv, num);
    }
  }

  void walk(const fs::path& split_dir) {
    remember_root_name(ds_.root.filename().string());
    for (const auto& part : sorted_entries(split_dir)) {
      const std::string pname = part.filename().string();
      if (!fs::is_directory(part) || is_hidden(pname) || !starts_with(to_upper(pname), "XR_")) {
        ++ds_.report.ignored_files;
        continue;
      }
      for (const auto& patient : sorted_entries(part)) {
        if (!fs::is_directory(patient) || is_hidden(patient.filename().string())) {
          ++ds_.report.ignored_files;
          continue;
        }
        for (const auto& study : sorted_entries(patient)) {
          if (!fs::is_directory(study) || is_hidden(study.filename().string())) {
            ++ds_.report.ignored_files;
            continue;
          }
          for (const auto& img : sorted_entries(study)) {
            const std::string iname = img.filename().string();
            if (is_hidden(iname) || !has_image_extension(img) || !fs::is_regular_file(img)) {
              ++ds_.report.ignored_files;
              continue;
            }
            MuraPath mp{ds_.root_name,
                        split_name(split_),
                        pname,
                        patient.filename().string(),
                        study.filename().string(),
                        iname};
            add_image(mp, img, 0);
          }
        }
      }
    }
  }

  void add_image(const MuraPath& mp, const fs::path& source, std::size_t line) {
    const std::string skey = mp.study_key();
    int label = 0;
    bool bad_study = false;
    if (has_labels_csv_) {
      auto it = labels_.find(skey);
      if (it == labels_.end()) {
        add_issue(Issue::Kind::UnlabeledStudy, source, line,
                  "image '" + mp.image_key() + "' belongs to study '" + skey + "', which " +
                      split_name(split_) + "_labeled_studies.csv does not list");
        return;
      }
      label = it->second.label;
      bad_study = it->second.bad;
    } else if (auto folder = label_from_study_folder(mp.study)) {
      label = *folder;
    } else {
      add_issue(Issue::Kind::UnlabeledStudy, source, line,
                "image '" + mp.image_key() + "' belongs to study folder '" + mp.study +
                    "', which has no _positive/_negative suffix, and there is no " +
                    split_name(split_) + "_labeled_studies.csv");
      return;
    }
    ImageRecord rec;
    rec.file = ds_.root / mp.split / mp.part / mp.patient / mp.study / mp.image;
    if (line != 0 && opt_.check_files_exist) {
      std::error_code ec;
      if (!fs::is_regular_file(rec.file, ec)) {
        add_issue(Issue::Kind::MissingImage, source, line,
                  "listed image does not exist: " + rec.file.string());
        return;
      }
    }
    rec.mura_path = ds_.root_name + "/" + mp.image_key();
    rec.split = split_;
    rec.body_part = to_upper(mp.part);
    rec.patient_id = mp.patient;
    rec.label = label;
    auto [it, fresh] = study_index_.emplace(skey, ds_.studies.size());
    if (fresh) {
      StudyRecord s;
      s.mura_path = ds_.root_name + "/" + skey;
      s.split = split_;
      s.body_part = rec.body_part;
      s.patient_id = rec.patient_id;
      s.label = label;
      ds_.studies.push_back(std::move(s));
    }
    used_studies_.insert(skey);
    rec.study = it->second;
    ds_.studies[rec.study].images.push_back(ds_.images.size());
    if (bad_study) bad_images_.insert(ds_.images.size());
    ds_.images.push_back(std::move(rec));
  }

  Dataset& ds_;
  Split split_;
  const IndexOptions& opt_;
  std::vector<Issue>& issues_;
  std::unordered_set<std::size_t>& bad_images_;
  bool has_labels_csv_ = false;
  std::unordered_map<std::string, StudyLabel> labels_;
  std::unordered_map<std::string, std::size_t> study_index_;
  std::unordered_set<std::string> used_studies_;
};

/// Rebuilds `ds` keeping only the images for which keep(i) is true; drops empty studies.
template <class Keep>
void compact(Dataset& ds, Keep keep) {
  std::vector<ImageRecord> images;
  std::vector<StudyRecord> studies;
  std::vector<std::size_t> study_map(ds.studies.size(), SIZE_MAX);
  for (std::size_t i = 0; i < ds.images.size(); ++i) {
    if (!keep(i)) continue;
    ImageRecord rec = ds.images[i];
    std::size_t& s = study_map[rec.study];
    if (s == SIZE_MAX) {
      s = studies.size();
      StudyRecord st = ds.studies[rec.study];
      st.images.clear();
      studies.push_back(std::move(st));
    }
    rec.study = s;
    studies[s].images.push_back(images.size());
    images.push_back(std::move(rec));
  }
  ds.images = std::move(images);
  ds.studies = std::move(studies);
}

fs::path clean(const fs::path& p) {
  fs::path a = fs::absolute(p).lexically_normal();
  if (a.filename().empty() && a.has_parent_path()) a = a.parent_path();
  return a;
}

}  // namespace

fs::path find_root(const fs::path& data_dir) {
  std::error_code ec;
  if (!fs::exists(data_dir, ec)) throw Error("data dir '" + data_dir.string() + "' does not exist");
  if (!fs::is_directory(data_dir, ec))
    throw Error("data dir '" + data_dir.string() + "' is not a folder");
  const fs::path dir = clean(data_dir);
  if (looks_like_root(dir)) return dir;
  std::vector<fs::path> candidates;
  for (const auto& e : sorted_entries(dir))
    if (fs::is_directory(e, ec) && looks_like_root(e)) candidates.push_back(e);
  if (candidates.size() == 1) return candidates[0];
  if (candidates.empty())
    throw Error(
        "no MURA-layout data set at '" + data_dir.string() +
        "': expected train_image_paths.csv / valid_image_paths.csv or train/ and "
        "valid/ folders there or in one sub-folder (e.g. MURA-v1.1/), or DICOM files below it");
  std::string names;
  for (const auto& c : candidates) names += (names.empty() ? "" : ", ") + c.filename().string();
  throw Error("'" + data_dir.string() + "' holds several data sets (" + names +
              "): pass one of them as the data dir");
}

void settle_issues(Dataset& ds, std::vector<Issue> issues, BadEntryPolicy policy,
                   const std::string& what) {
  if (!issues.empty() && policy == BadEntryPolicy::Fail) {
    std::ostringstream msg;
    msg << what << " has " << issues.size() << " problem(s):";
    const std::size_t shown = std::min<std::size_t>(issues.size(), 20);
    for (std::size_t i = 0; i < shown; ++i) msg << "\n  " << issues[i].to_string();
    if (issues.size() > shown) msg << "\n  ... and " << issues.size() - shown << " more";
    msg << "\nfix them, or skip the bad entries with --skip-bad";
    throw Error(msg.str());
  }
  for (const auto& is : issues) ++ds.report.skipped[issue_kind_name(is.kind)];
  ds.report.issues = std::move(issues);
}

Dataset index_dataset(const fs::path& data_dir, const IndexOptions& options) {
  Dataset ds;
  try {
    ds.root = find_root(data_dir);
  } catch (const Error&) {
    if (is_dicom_tree(data_dir)) return index_dicom_tree(data_dir, options);
    throw;
  }
  if (!options.dicom.labels.empty())
    throw Error("--labels " + options.dicom.labels.string() + ": the data set at " +
                ds.root.string() +
                " is a MURA layout, whose labels come from its CSVs (--labels is for DICOM trees)");
  std::vector<Issue> issues;
  std::unordered_set<std::size_t> bad_images;
  for (Split s : {Split::Train, Split::Valid}) {
    try {
      SplitIndexer(ds, s, options, issues, bad_images).run();
    } catch (const fs::filesystem_error& e) {
      throw Error(std::string("cannot read the data set: ") + e.what());
    }
  }
  if (ds.root_name.empty()) ds.root_name = ds.root.filename().string();
  settle_issues(ds, std::move(issues), options.on_bad, "the data set at " + ds.root.string());
  if (!bad_images.empty()) compact(ds, [&](std::size_t i) { return !bad_images.count(i); });
  if (ds.images.empty() && ds.report.issues.empty())
    throw Error("the data set at " + ds.root.string() + " has no images");
  return ds;
}

std::string normalize_body_part(const std::string& name) {
  std::string n = to_upper(std::string(trim(name)));
  if (!starts_with(n, "XR_")) n = "XR_" + n;
  return n;
}

std::vector<std::string> parse_task_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::string s = v;
    std::replace(s.begin(), s.end(), ' ', ',');
    for (const auto& f : split(s, ',')) {
      const auto t = trim(f);
      if (!t.empty()) out.emplace_back(t);
    }
  }
  return out;
}

Dataset filter_body_parts(const Dataset& ds, const std::vector<std::string>& parts) {
  if (parts.empty()) return ds;
  const auto present = ds.body_parts();
  std::set<std::string> wanted;
  std::vector<std::string> unknown;
  for (const auto& p : parts) {
    const std::string n = normalize_body_part(p);
    if (std::find(present.begin(), present.end(), n) == present.end())
      unknown.push_back("'" + p + "'");
    wanted.insert(n);
  }
  if (!unknown.empty())
    throw Error("unknown body part " + join(unknown, ", ") + "; this data set has " +
                join(present, ", "));
  Dataset out = ds;
  compact(out, [&](std::size_t i) { return wanted.count(ds.images[i].body_part) > 0; });
  return out;
}

}  // namespace mura::data
