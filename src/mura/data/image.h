#pragma once
/// Decoding radiographs: any PNG or JPEG (8- or 16-bit; gray, gray+alpha, RGB, RGBA), or
/// DICOM (dicom.h; recognised from the bytes, not the name) into one 8-bit gray plane. Colour is
/// converted with ITU-R 601-2 luma (what PIL's convert("L") does); alpha is dropped like PIL's
/// convert("RGB"); 16-bit samples are scaled to 8 bits (v * 255 / 65535, rounded).
///
/// Every failure throws mura::Error naming the file: unreadable, empty, not a PNG/JPEG,
/// truncated (no PNG IEND chunk / JPEG EOI marker), corrupt, or larger than the pixel
/// limit (checked from the header, before any pixel memory is allocated).
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>
#include <string_view>

namespace mura::data {

struct DecodeOptions {
  /// Images with more pixels are refused before decoding (default 64 megapixels; MURA's
  /// largest images are about 5 megapixels).
  std::uint64_t max_pixels = 64ULL * 1000 * 1000;
  /// DICOM only: which VOI window to apply (`--dicom-window`): empty = the file's first
  /// window (else its first VOI LUT, else min/max); "N" = the N-th (from 1); a name = the
  /// window whose Explanation it is; "minmax" = ignore the file's windows.
  std::string dicom_window;
};

enum class ImageFormat { Png, Jpeg, Unknown };

struct ImageHeader {
  ImageFormat format = ImageFormat::Unknown;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

/// Reads the format and size from the first bytes; throws mura::Error (prefixed with
/// `name`) when the bytes are not a PNG/JPEG or the header is damaged.
ImageHeader read_image_header(std::string_view bytes, const std::string& name);

/// Decodes encoded bytes (PNG, JPEG or DICOM, told apart by content); `name` (a path) is used in
/// error messages. Returns CV_8UC1.
cv::Mat decode_gray(std::string_view bytes, const std::string& name,
                    const DecodeOptions& options = {});

/// Reads and decodes a file. Returns CV_8UC1.
cv::Mat load_gray(const std::filesystem::path& file, const DecodeOptions& options = {});

}  // namespace mura::data
