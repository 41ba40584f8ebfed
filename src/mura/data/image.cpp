#include "mura/data/image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mura/data/dicom.h"
#include "mura/util/error.h"
#include "mura/util/strings.h"

namespace mura::data {

namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}
std::uint32_t be16(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 8) | p[1];
}

const unsigned char kPngSig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

bool is_sof(unsigned char m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

ImageHeader png_header(std::string_view b, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  if (b.size() < 33 || std::memcmp(p + 12, "IHDR", 4) != 0)
    fail(name, "truncated or corrupt PNG (no IHDR header)");
  ImageHeader h{ImageFormat::Png, be32(p + 16), be32(p + 20)};
  if (h.width == 0 || h.height == 0) fail(name, "corrupt PNG (zero width or height)");
  // A PNG ends with an IEND chunk; a file cut short has none.
  const std::size_t tail = std::min<std::size_t>(b.size() - 33, 4096);
  if (b.substr(b.size() - tail).find("IEND") == std::string_view::npos)
    fail(name, "truncated PNG (no IEND chunk at the end of the file)");
  return h;
}

ImageHeader jpeg_header(std::string_view b, const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  const std::size_t n = b.size();
  ImageHeader h{ImageFormat::Jpeg, 0, 0};
  std::size_t i = 2;
  while (i + 3 < n) {
    if (p[i] != 0xFF) fail(name, "corrupt JPEG (bad marker at byte " + std::to_string(i) + ")");
    while (i < n && p[i] == 0xFF) ++i;  // fill bytes
    if (i >= n) break;
    const unsigned char m = p[i++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0xD9 || m == 0xDA) break;  // EOI / start of scan before a frame header
    if (i + 2 > n) break;
    const std::uint32_t len = be16(p + i);
    if (len < 2) fail(name, "corrupt JPEG (segment length " + std::to_string(len) + ")");
    if (is_sof(m)) {
      if (i + 7 > n) break;
      h.height = be16(p + i + 3);
      h.width = be16(p + i + 5);
      break;
    }
    i += len;
  }
  if (h.width == 0 || h.height == 0)
    fail(name, "truncated or corrupt JPEG (no frame header with the image size)");
  // A JPEG ends with the EOI marker FF D9 (possibly followed by a little padding).
  const std::size_t tail = std::min<std::size_t>(n, 64);
  if (b.substr(n - tail).find("\xFF\xD9") == std::string_view::npos)
    fail(name, "truncated JPEG (no end-of-image marker)");
  return h;
}

}  // namespace

ImageHeader read_image_header(std::string_view bytes, const std::string& name) {
  if (bytes.empty()) fail(name, "empty file");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() >= 8 && std::memcmp(p, kPngSig, 8) == 0) return png_header(bytes, name);
  if (bytes.size() >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
    return jpeg_header(bytes, name);
  const std::string ext = to_lower(std::filesystem::path(name).extension().string());
  if (ext == ".dcm" || ext == ".dicom")
    fail(name, "not a DICOM file (no DICM prefix and no DICOM data set at the start)");
  fail(name, looks_like_dicom(bytes) ? "a DICOM file, not a PNG or JPEG image"
                                     : "not a PNG, JPEG or DICOM image");
}

cv::Mat decode_gray(std::string_view bytes, const std::string& name, const DecodeOptions& options) {
  if (looks_like_dicom(bytes)) return decode_dicom(bytes, name, options);
  const ImageHeader h = read_image_header(bytes, name);
  const std::uint64_t pixels = std::uint64_t(h.width) * h.height;
  if (pixels > options.max_pixels)
    fail(name, "image is " + std::to_string(h.width) + "x" + std::to_string(h.height) + " (" +
                   std::to_string(pixels) + " pixels), over the limit of " +
                   std::to_string(options.max_pixels) + " pixels");
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1,
                    const_cast<char*>(bytes.data()));  // imdecode only reads it
  cv::Mat img;
  try {
    img = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    fail(name, std::string("corrupt image data (") + e.what() + ")");
  }
  if (img.empty()) fail(name, "corrupt image data (the decoder could not read it)");
  if (img.cols != static_cast<int>(h.width) || img.rows != static_cast<int>(h.height))
    fail(name, "corrupt image (decoded size differs from the header)");
  if (img.depth() == CV_16U) {
    cv::Mat eight;
    img.convertTo(eight, CV_8U, 255.0 / 65535.0);
    img = eight;
  } else if (img.depth() != CV_8U) {
    fail(name, "unsupported sample type (expected 8- or 16-bit)");
  }
  cv::Mat gray;
  switch (img.channels()) {
    case 1:
      return img;
    case 2:
      cv::extractChannel(img, gray, 0);
      return gray;
    case 3:
      cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
      return gray;
    case 4:
      cv::cvtColor(img, gray, cv::COLOR_BGRA2GRAY);
      return gray;
    default:
      fail(name, "unsupported channel count " + std::to_string(img.channels()));
  }
}

cv::Mat load_gray(const std::filesystem::path& file, const DecodeOptions& options) {
  const std::string name = file.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(name, std::string("cannot open image: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(name, "not a regular file");
  }
  // Refuse absurd files before reading them: even compressed, 1 GiB is no radiograph.
  if (static_cast<std::uint64_t>(st.st_size) > (1ULL << 30)) {
    ::close(fd);
    fail(name, "file is larger than 1 GiB");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  bytes.resize(got);
  return decode_gray(bytes, name, options);
}

}  // namespace mura::data
