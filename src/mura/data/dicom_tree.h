#pragma once
/// A DICOM tree as a data set: a folder of DICOM files in any layout (PACS exports name
/// folders by nobody's convention and files often have no extension; DICOM is recognised
/// from the bytes). Each file's header is read up to Pixel Data, never further.
///
///  - studies: by StudyInstanceUID, all its series together; images in path order;
///  - patients: grouped by PatientID, which is never shown: they are numbered patient00001,
///    ... in the order of their first study's UID;
///  - body part: BodyPartExamined, then the Anatomic Region Sequence, then keywords in the
///    Study/Series Description; sources that disagree, or none, give XR_UNKNOWN, and the
///    study's images must agree too; `--body-part-map` overrides;
///  - labels: `--labels` (StudyInstanceUID,label); studies without one are UnlabeledStudy
///    problems (or label -1 where labels are not required, for counting);
///  - files left out: non-image objects (SR, KOS, presentation states), FOR PROCESSING
///    images (counted in IndexReport::excluded), and files that cannot be used (not DICOM
///    but named .dcm, unreadable header, truncated, no Pixel Data, too many pixels,
///    multi-frame, PALETTE COLOR): one line each in IndexReport::file_problems.
///
/// Studies are named by StudyInstanceUID, or with `pseudonymize` by "study-" + the first 16
/// hex digits of HMAC-SHA256(key, UID); images by their path below the tree.
#include <filesystem>
#include <string>

#include "mura/data/dataset.h"

namespace mura::data {

/// True when `dir` holds a DICOM file (by content) among its first files, recursively.
bool is_dicom_tree(const std::filesystem::path& dir);

/// Indexes a DICOM tree (see above). Throws mura::Error when `dir` holds no usable DICOM
/// image, when the labels or body-part-map file is malformed (naming file and line) and,
/// with BadEntryPolicy::Fail, on label problems.
Dataset index_dicom_tree(const std::filesystem::path& dir, const IndexOptions& options);

/// The name a study gets in every output: its UID, or its keyed pseudonym.
std::string study_display_name(const std::string& study_uid, const DicomTreeOptions& options,
                               const std::string& key);

}  // namespace mura::data
