#pragma once
/// Reading DICOM files with GDCM: every transfer syntax GDCM decodes (implicit/explicit VR
/// little endian, explicit big endian, deflate, JPEG baseline/extended/lossless, JPEG-LS,
/// JPEG 2000, RLE), with or without the 128-byte preamble and meta header. The pixels go
/// through mura's own grayscale pipeline (dicom_pipeline.h) to the 8-bit plane the PNG path
/// gives, so every transform, cache and model downstream is unchanged.
///
/// No patient data leaves this module: DicomInfo carries UIDs (the keys the user's labels
/// use), a patient grouping key that callers must never print, and derived facts (body
/// part, kind). Errors name the file and the attribute, never an identifying value. GDCM's
/// own log (which can echo header values) is silenced.
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>
#include <string_view>

#include "mura/data/image.h"

namespace mura::data {

/// True when the bytes are DICOM: "DICM" at offset 128, or (no preamble) a first data
/// element of group 0002 or 0008 in little or big endian, implicit or explicit VR.
bool looks_like_dicom(std::string_view bytes);

/// What a header-only scan (stopping before Pixel Data) tells about one file.
struct DicomInfo {
  enum class Kind {
    Image,          ///< a single-frame grayscale or colour image mura can read
    NoPixels,       ///< a non-image object (SR, KOS, presentation state, ...): skipped
    ForProcessing,  ///< DX/CR Presentation Intent Type FOR PROCESSING: skipped
    Unsupported,    ///< an image mura refuses (multi-frame, PALETTE COLOR, ...): see reason
  };
  Kind kind = Kind::Image;
  std::string reason;  ///< why, for NoPixels/ForProcessing/Unsupported (no header values)
  std::string study_uid;
  std::string series_uid;
  std::string sop_instance_uid;
  /// PatientID as stored: a grouping key only. Never print or write it.
  std::string patient_key;
  std::string body_part;       ///< "XR_HAND", or empty when nothing in the header says
  std::string body_part_term;  ///< BodyPartExamined, upper-case, trimmed (a coded term)
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
};

/// Header-only scan of a file. Throws mura::Error naming the file when it is not DICOM,
/// cannot be parsed, or declares more pixels than `options.max_pixels`.
DicomInfo read_dicom_info(const std::filesystem::path& file, const DecodeOptions& options = {});

/// Decodes one DICOM image to CV_8UC1 through the grayscale pipeline, with the VOI chosen
/// by `options.dicom_window`. Throws mura::Error naming `name` (and the attribute) for
/// every file it cannot render: not DICOM, truncated, no Pixel Data, too many pixels
/// (refused from the header before decoding), multi-frame, unsupported photometric,
/// non-image objects, For Processing images.
cv::Mat decode_dicom(std::string_view bytes, const std::string& name,
                     const DecodeOptions& options = {});

/// The MURA body part ("XR_ELBOW", ...) a BodyPartExamined term or free-text keyword names:
/// the PS3.16 terms ELBOW, FINGER, FOREARM, HAND, HUMERUS, SHOULDER, WRIST and ARM (upper arm:
/// XR_HUMERUS), and common vendor and German spellings ("LOWER ARM", "UPPER ARM", "THUMB",
/// "UNTERARM", "HANDGELENK", ...). Empty when it names none.
std::string body_part_from_term(const std::string& term);

}  // namespace mura::data
