#pragma once
/// JPEG 2000 Pixel Data decoded with OpenJPEG directly. Not through GDCM's codec: fuzzing
/// found GDCM 3.0.21's JPEG2000Codec handing OpenJPEG's opj_image_destroy a pointer it had
/// not allocated on a damaged 3.6 KB codestream, which corrupted the heap and ended the
/// process ("free(): corrupted unsorted chunks"). Here every OpenJPEG object has one owner
/// and is destroyed once, on every path.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mura::data {

struct J2kPixels {
  int width = 0, height = 0, components = 0;
  int precision = 0;       ///< bits per sample in the codestream
  bool is_signed = false;  ///< the codestream's sample signedness
  int bits_allocated = 8;  ///< 8 (precision <= 8) or 16: the layout of `bytes`
  /// Samples, interleaved by pixel (planar configuration 0), little endian.
  std::vector<char> bytes;
};

/// Decodes a J2K codestream or JP2 file (the concatenated fragments of one frame). Throws
/// mura::Error naming `name` when it cannot be decoded, has subsampled or unequal
/// components, more than 16 bits per sample, or is not `width` x `height`.
J2kPixels decode_j2k(std::string_view data, int width, int height, const std::string& name);

}  // namespace mura::data

namespace gdcm {
class Image;
}

namespace mura::data {

/// The pixels of `image` (read by GDCM's ImageReader, a JPEG 2000 transfer syntax): its one
/// frame's fragments decoded with decode_j2k; the image's pixel format corrected from the
/// codestream as GDCM does (fewer bits stored; another bits allocated), planar
/// configuration 0.
std::vector<char> decode_j2k_pixels(gdcm::Image& image, const std::string& name);

}  // namespace mura::data
