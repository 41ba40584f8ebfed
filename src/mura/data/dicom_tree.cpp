#include "mura/data/dicom_tree.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

#include "mura/data/dicom.h"
#include "mura/util/error.h"
#include "mura/util/sha256.h"
#include "mura/util/strings.h"

namespace mura::data {
namespace fs = std::filesystem;

namespace {

bool is_hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return !n.empty() && n[0] == '.';
}

bool dicom_extension(const fs::path& p) {
  const std::string e = to_lower(p.extension().string());
  return e == ".dcm" || e == ".dicom" || e == ".dic";
}

bool starts_as_dicom(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char head[132] = {};
  in.read(head, sizeof head);
  return looks_like_dicom(std::string_view(head, static_cast<std::size_t>(in.gcount())));
}

/// Regular, non-hidden files below `dir` in path order (hidden folders skipped).
std::vector<fs::path> files_below(const fs::path& dir, std::size_t limit, std::size_t& ignored) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw Error("cannot read the folder " + dir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error("cannot read below " + dir.string() + ": " + ec.message());
    if (is_hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      ++ignored;
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    out.push_back(it->path());
    if (out.size() >= limit) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct CsvRow {
  std::size_t line;
  std::vector<std::string> fields;
};

std::vector<CsvRow> read_rows(const fs::path& file, const char* flag) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(std::string(flag) + ": cannot open " + file.string());
  std::vector<CsvRow> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (n == 1 && starts_with(line, "\xEF\xBB\xBF")) line.erase(0, 3);
    const std::string t(trim(line));
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> f;
    for (auto& x : split(t, ',')) {
      std::string v(trim(x));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      f.push_back(v);
    }
    out.push_back({n, f});
  }
  return out;
}

bool valid_uid(const std::string& u) {
  if (u.empty() || u.size() > 64) return false;
  return std::all_of(u.begin(), u.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

struct Label {
  int value;
  std::size_t line;
};

std::string random_key() {
  std::random_device rd;
  std::string k;
  for (int i = 0; i < 32; ++i) k += static_cast<char>(rd() & 0xFF);
  return k;
}

struct FileEntry {
  fs::path file;
  DicomInfo info;
};

}  // namespace

std::string study_display_name(const std::string& uid, const DicomTreeOptions& o,
                               const std::string& key) {
  if (!o.pseudonymize) return uid;
  const auto h = hmac_sha256(key, uid);
  return "study-" + to_hex(h.data(), 8);
}

bool is_dicom_tree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  std::size_t ignored = 0;
  for (const auto& f : files_below(dir, 200, ignored))
    if (starts_as_dicom(f)) return true;
  return false;
}

Dataset index_dicom_tree(const fs::path& dir, const IndexOptions& options) {
  const DicomTreeOptions& o = options.dicom;
  Dataset ds;
  ds.dicom_tree = true;
  ds.root = fs::absolute(dir).lexically_normal();
  if (ds.root.filename().empty()) ds.root = ds.root.parent_path();
  ds.root_name = ds.root.filename().string();
  const std::string key =
      o.pseudonymize ? (o.pseudonym_key.empty() ? random_key() : o.pseudonym_key) : "";

  // 1. Every file's header, up to Pixel Data.
  DecodeOptions dopt;
  dopt.max_pixels = o.max_pixels;
  std::vector<FileEntry> entries;
  for (const auto& f : files_below(ds.root, SIZE_MAX, ds.report.ignored_files)) {
    if (!starts_as_dicom(f)) {
      if (dicom_extension(f))
        ds.report.file_problems.push_back(
            f.string() + ": not a DICOM file (named " + f.extension().string() +
            ", but no DICM prefix and no DICOM data set at the start)");
      else
        ++ds.report.ignored_files;
      continue;
    }
    FileEntry e{f, {}};
    try {
      e.info = read_dicom_info(f, dopt);
    } catch (const Error& err) {
      ds.report.file_problems.push_back(err.what());
      continue;
    }
    switch (e.info.kind) {
      case DicomInfo::Kind::NoPixels:
        ++ds.report.excluded["non-image DICOM object (SR, KOS, presentation state, ...)"];
        continue;
      case DicomInfo::Kind::ForProcessing:
        ++ds.report.excluded["FOR PROCESSING image (raw detector data)"];
        continue;
      case DicomInfo::Kind::Unsupported:
        ds.report.file_problems.push_back(f.string() + ": DICOM: " + e.info.reason + "; left out");
        continue;
      case DicomInfo::Kind::Image:
        break;
    }
    if (e.info.study_uid.empty()) {
      ds.report.file_problems.push_back(f.string() +
                                        ": DICOM: no StudyInstanceUID (0020,000D); left out");
      continue;
    }
    entries.push_back(std::move(e));
  }
  if (entries.empty()) {
    std::string why = "no usable DICOM image below " + ds.root.string();
    if (!ds.report.file_problems.empty()) why += ":\n  " + join(ds.report.file_problems, "\n  ");
    throw Error(why);
  }

  // 2. Overrides and labels.
  std::map<std::string, std::string> part_map;  // UID or BodyPartExamined term -> XR_*
  if (!o.body_part_map.empty())
    for (const auto& r : read_rows(o.body_part_map, "--body-part-map")) {
      if (r.fields.size() != 2 || r.fields[0].empty() || r.fields[1].empty())
        throw Error("--body-part-map: " + location(o.body_part_map.string(), r.line) +
                    "expected 'StudyInstanceUID or BodyPartExamined term,PART' (2 fields)");
      part_map[to_upper(r.fields[0])] = normalize_body_part(r.fields[1]);
    }
  std::vector<Issue> issues;
  std::map<std::string, Label> labels;
  if (!o.labels.empty()) {
    for (const auto& r : read_rows(o.labels, "--labels")) {
      const std::string file = o.labels.string();
      if (r.fields.size() != 2) {
        issues.push_back({Issue::Kind::MalformedLine, file, r.line,
                          "expected 'StudyInstanceUID,label' (2 fields), got " +
                              std::to_string(r.fields.size())});
        continue;
      }
      if (!valid_uid(r.fields[0])) {
        issues.push_back({Issue::Kind::MalformedLine, file, r.line,
                          "the first field is not a UID (digits and dots, at most 64 characters)"});
        continue;
      }
      if (r.fields[1] != "0" && r.fields[1] != "1") {
        issues.push_back({Issue::Kind::MalformedLine, file, r.line,
                          "label must be 0 or 1, got '" + r.fields[1] + "'"});
        continue;
      }
      if (auto it = labels.find(r.fields[0]); it != labels.end()) {
        issues.push_back(
            {Issue::Kind::DuplicateEntry, file, r.line,
             "study listed twice (first at line " + std::to_string(it->second.line) + ")"});
        continue;
      }
      labels[r.fields[0]] = {r.fields[1] == "1" ? 1 : 0, r.line};
    }
  } else if (o.require_labels) {
    throw Error(
        "--labels: a DICOM tree carries no labels; give a CSV of 'StudyInstanceUID,label' lines");
  }

  // 3. Studies by UID (sorted), patients numbered in that order, images in path order.
  std::map<std::string, std::vector<std::size_t>> by_study;
  for (std::size_t i = 0; i < entries.size(); ++i) by_study[entries[i].info.study_uid].push_back(i);
  std::unordered_map<std::string, std::string> patient_names;
  std::size_t unknown_parts = 0, conflicting_parts = 0;
  for (auto& [uid, members] : by_study) {
    const std::string name = study_display_name(uid, o, key);
    int label = -1;
    if (auto it = labels.find(uid); it != labels.end()) {
      label = it->second.value;
    } else if (o.require_labels) {
      issues.push_back({Issue::Kind::UnlabeledStudy, entries[members[0]].file.string(), 0,
                        "study " + name + " (" + std::to_string(members.size()) +
                            " image(s)) has no label in " + o.labels.string()});
      continue;
    }
    // Body part: the map, else what the images' headers agree on.
    std::string part;
    if (auto it = part_map.find(to_upper(uid)); it != part_map.end()) part = it->second;
    if (part.empty()) {
      std::set<std::string> parts;
      for (std::size_t m : members) {
        const DicomInfo& info = entries[m].info;
        std::string p = info.body_part;
        if (auto it = part_map.find(info.body_part_term);
            !info.body_part_term.empty() && it != part_map.end())
          p = it->second;
        if (!p.empty()) parts.insert(p);
      }
      if (parts.size() == 1)
        part = *parts.begin();
      else if (parts.size() > 1)
        ++conflicting_parts;
    }
    if (part.empty()) {
      part = "XR_UNKNOWN";
      ++unknown_parts;
    }
    const std::string& pkey = entries[members[0]].info.patient_key;
    const std::string group =
        pkey.empty() ? "\x01study:" + uid : pkey;  // no PatientID: own patient
    auto [pit, fresh] = patient_names.emplace(group, "");
    if (fresh) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "patient%05zu", patient_names.size());
      pit->second = buf;
    }
    StudyRecord st;
    st.mura_path = name;
    st.split = o.split;
    st.body_part = part;
    st.patient_id = pit->second;
    st.label = label;
    const std::size_t sidx = ds.studies.size();
    for (std::size_t m : members) {
      ImageRecord rec;
      rec.file = entries[m].file;
      rec.mura_path = ds.root_name + "/" + fs::relative(rec.file, ds.root).generic_string();
      rec.split = o.split;
      rec.body_part = part;
      rec.patient_id = st.patient_id;
      rec.study = sidx;
      rec.label = label;
      st.images.push_back(ds.images.size());
      ds.images.push_back(std::move(rec));
    }
    ds.studies.push_back(std::move(st));
  }
  std::size_t unused = 0;
  for (const auto& [uid, l] : labels)
    if (!by_study.count(uid)) ++unused;
  ds.report.notes.push_back("DICOM tree: " + std::to_string(ds.images.size()) + " image(s) in " +
                            std::to_string(ds.studies.size()) + " stud" +
                            (ds.studies.size() == 1 ? "y" : "ies") + " of " +
                            std::to_string(patient_names.size()) + " patient(s), indexed as the " +
                            split_name(o.split) + " split");
  if (unused)
    ds.report.notes.push_back(std::to_string(unused) + " labelled stud" +
                              (unused == 1 ? "y is" : "ies are") + " not in the tree");
  if (unknown_parts)
    ds.report.notes.push_back(
        std::to_string(unknown_parts) + " stud" + (unknown_parts == 1 ? "y has" : "ies have") +
        " no body part (XR_UNKNOWN" +
        (conflicting_parts ? ", " + std::to_string(conflicting_parts) + " with disagreeing headers"
                           : std::string()) +
        "); name them with --body-part-map");
  settle_issues(ds, std::move(issues), options.on_bad, "the DICOM tree at " + ds.root.string());
  if (ds.images.empty())
    throw Error("the DICOM tree at " + ds.root.string() + " has no labelled images");
  return ds;
}

}  // namespace mura::data
