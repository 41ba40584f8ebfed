#pragma once
/// The MURA index: every image, study and patient of a data set in the MURA-v1.1 layout.
///
///   <root>/train_image_paths.csv MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/image1.png
///   <root>/train_labeled_studies.csv  MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/,1
///   <root>/valid_*.csv                the same for the official validation split
///   <root>/{train,valid}/XR_<PART>/<patient>/<study>_<positive|negative>/<image>.png
///
/// The CSVs have no header; their paths start with the root folder's own name, so both the
/// root and its parent are accepted as `data_dir`. Paths are resolved below the root found on
/// disk (the first CSV component is only kept for output in MURA's own form), so a renamed
/// root folder still works. Where a split's CSVs are absent, its folder is walked instead.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mura::data {

enum class Split { Train, Valid };
const char* split_name(Split s);
/// "train" / "valid" (case-insensitive); throws mura::Error naming the value otherwise.
Split parse_split(const std::string& name);

struct ImageRecord {
  std::filesystem::path file;  ///< where the image is on disk
  std::string mura_path;       ///< as MURA writes it: "MURA-v1.1/train/XR_WRIST/.../image1.png"
  Split split = Split::Train;
  std::string body_part;   ///< "XR_WRIST"; any XR_* name is accepted
  std::string patient_id;  ///< "patient00001" (unique within the data set)
  std::size_t study = 0;   ///< index into Dataset::studies
  int label = 0;           ///< 1 = abnormal, 0 = normal (the study's label); -1 unlabelled
};

struct StudyRecord {
  std::string mura_path;  ///< "MURA-v1.1/train/XR_WRIST/patient00001/study1_positive/"
  Split split = Split::Train;
  std::string body_part;
  std::string patient_id;
  int label = 0;
  std::vector<std::size_t> images;  ///< indices into Dataset::images
};

/// One problem found while indexing, located at a file (and line, for CSVs).
struct Issue {
  enum class Kind {
    MalformedLine,   ///< a CSV line that does not parse
    MissingImage,    ///< listed in a CSV, absent on disk
    LabelMismatch,   ///< CSV label disagrees with the study folder's suffix
    UnlabeledStudy,  ///< an image whose study has no label
    DuplicateEntry,  ///< the same image or study listed twice
  };
  Kind kind;
  std::string file;
  std::size_t line = 0;  ///< 1-based; 0 when not from a CSV line
  std::string message;
  std::string to_string() const;
};
const char* issue_kind_name(Issue::Kind k);

enum class BadEntryPolicy { Fail, Skip };

/// What a DICOM tree (a folder of DICOM files in any layout, see dicom_tree.h) needs.
struct DicomTreeOptions {
  /// `--labels`: headerless "StudyInstanceUID,label" lines (label 0 = normal, 1 = abnormal).
  std::filesystem::path labels;
  /// `--body-part-map`: "KEY,PART" lines; KEY is a StudyInstanceUID or a BodyPartExamined
  /// term, PART a MURA body part (WRIST, XR_WRIST, ...). Overrides what the header says.
  std::filesystem::path body_part_map;
  /// A DICOM tree has no official split: its studies are indexed under this one.
  Split split = Split::Train;
  /// Without a labels file (or for studies it does not list): false keeps the studies with
  /// label -1 (for counting); true makes each an UnlabeledStudy problem.
  bool require_labels = true;
  /// `--pseudonymize`: studies are named by a keyed hash of their UID in every output.
  bool pseudonymize = false;
  /// The key of those hashes; empty: a random key for this run only.
  std::string pseudonym_key;
  /// Images with more pixels are refused from their header (as DecodeOptions::max_pixels).
  std::uint64_t max_pixels = 64ULL * 1000 * 1000;
};

struct IndexOptions {
  /// Fail: throw one Error listing the problems. Skip: drop bad entries, report counts.
  BadEntryPolicy on_bad = BadEntryPolicy::Fail;
  /// Check that every image listed in a CSV exists (a stat per image).
  bool check_files_exist = true;
  /// Used when the data dir is a DICOM tree rather than a MURA layout.
  DicomTreeOptions dicom;
};

struct IndexReport {
  std::vector<Issue> issues;                   ///< everything found (skipped when policy = Skip)
  std::map<std::string, std::size_t> skipped;  ///< kind name -> count of skipped entries
  std::vector<std::string> notes;              ///< e.g. "valid: no CSV, walked the folders"
  std::size_t ignored_files = 0;  ///< junk (._*, .DS_Store, non-images) the walker ignored
  /// DICOM trees: one line per file that could not be used (unreadable, unsupported), named
  /// by path, never by a header value. Such files are left out; the rest is indexed.
  std::vector<std::string> file_problems;
  /// DICOM trees: files left out on purpose, per reason ("non-image object", ...).
  std::map<std::string, std::size_t> excluded;
};

struct Dataset {
  std::filesystem::path root;  ///< the folder with the CSVs and split folders (or DICOM tree)
  bool dicom_tree = false;     ///< indexed from a DICOM tree (dicom_tree.h)
  std::string root_name;       ///< first component of MURA paths ("MURA-v1.1")
  std::vector<ImageRecord> images;
  std::vector<StudyRecord> studies;
  IndexReport report;

  bool has_split(Split s) const;
  /// Indices of the images of one split, in index order.
  std::vector<std::size_t> images_of(Split s) const;
  /// Distinct body parts, sorted.
  std::vector<std::string> body_parts() const;
};

/// Finds the data set root: `data_dir` itself when it holds MURA CSVs or train/ valid/
/// folders, else its only child that does. Throws mura::Error explaining what was expected.
std::filesystem::path find_root(const std::filesystem::path& data_dir);

/// Applies the bad-entry policy to the problems an indexer found: with Fail, throws one
/// mura::Error listing them (`what` names the data set: "the data set at ROOT"); with Skip,
/// counts them by kind in ds.report.skipped. Either way they end in ds.report.issues.
void settle_issues(Dataset& ds, std::vector<Issue> issues, BadEntryPolicy policy,
                   const std::string& what);

/// Indexes the data set at `data_dir` (root or its parent), or, when that folder is no
/// MURA layout but holds DICOM files, the DICOM tree (index_dicom_tree). Throws mura::Error
/// when the folder is not a data set, and, with BadEntryPolicy::Fail, when any Issue is found.
Dataset index_dataset(const std::filesystem::path& data_dir, const IndexOptions& options = {});

/// Normalises a body-part name: "elbow", "XR_ELBOW", "xr_elbow" -> "XR_ELBOW".
std::string normalize_body_part(const std::string& name);

/// Keeps only the images (and studies) of the given body parts (names as accepted by
/// normalize_body_part). An empty list keeps everything. Throws mura::Error naming unknown
/// parts and listing the parts present.
Dataset filter_body_parts(const Dataset& ds, const std::vector<std::string>& parts);

/// Parses "--tasks" values: comma- and/or space-separated body-part names.
std::vector<std::string> parse_task_list(const std::vector<std::string>& values);

}  // namespace mura::data
