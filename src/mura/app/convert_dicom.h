#pragma once
/// `mura convert-dicom` as a composition: a DICOM tree -> a MURA-v1.1-layout PNG data set
/// (rendered 8-bit images through the grayscale pipeline, pseudonymous patient and study
/// folders, the four CSVs), so large DICOM collections train at PNG and cache speed.
///
/// Patients are split at the patient level into train/valid (data/split.h). The data set
/// holds no UID and no header value; the key linking its study folders back to
/// StudyInstanceUIDs goes to a separate CSV (default: OUT + ".key.csv", beside the data
/// set, never inside it). The data set is built in a temporary folder beside OUT and
/// renamed into place at the end: an interrupted run leaves no half-written data set.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mura/data/dataset.h"
#include "mura/util/sink.h"

namespace mura::app {

struct ConvertDicomOptions {
  std::string input;    ///< the DICOM tree (required)
  std::string out;      ///< the data set root to write (required); its name is the CSVs' prefix
  std::string key_out;  ///< the pseudonym key CSV; default OUT + ".key.csv"
  data::DicomTreeOptions dicom;  ///< labels (required), body-part map
  std::vector<std::string> tasks;
  bool skip_bad = false;
  std::string dicom_window;     ///< DecodeOptions::dicom_window
  double valid_fraction = 0.2;  ///< share of patients (per body part) in valid/
  std::uint64_t seed = 42;
  bool overwrite = false;
  int workers = -1;  ///< decoding threads; < 0: one per core; 0: the calling thread only
};

struct ConvertDicomResult {
  std::size_t images = 0, studies = 0, patients = 0;
  std::size_t failed_images = 0;  ///< could not be rendered (each one a warning)
  std::string root, key_file;
};

ConvertDicomResult run_convert_dicom(const ConvertDicomOptions& options, Sink& sink = null_sink());

}  // namespace mura::app
