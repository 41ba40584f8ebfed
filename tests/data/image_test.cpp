#include "mura/data/image.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../test_util.h"
#include "mura/util/atomic_file.h"
#include "mura/util/error.h"

namespace mura::data {
namespace {
namespace fs = std::filesystem;

cv::Mat gradient(int w, int h) {
  cv::Mat m(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<unsigned char>(y, x) = static_cast<unsigned char>((x * 5 + y * 11) % 256);
  return m;
}

void expect_load_error(const fs::path& file, const std::string& fragment,
                       const DecodeOptions& opt = {}) {
  EXPECT_ERROR_CONTAINS(load_gray(file, opt), file.string(), fragment);
}

TEST(Image, DecodesEightBitGrayPngExactly) {
  test::TempDir tmp;
  const cv::Mat g = gradient(37, 23);
  test::write_image(tmp / "g.png", g);
  const cv::Mat out = load_gray(tmp / "g.png");
  ASSERT_EQ(out.type(), CV_8UC1);
  EXPECT_EQ(cv::norm(out, g, cv::NORM_INF), 0.0);
}

TEST(Image, SixteenBitIsScaledToEightBits) {
  test::TempDir tmp;
  cv::Mat g16(4, 3, CV_16UC1);
  const std::uint16_t values[] = {0, 257, 65535, 32896, 128, 1000};
  for (int i = 0; i < 12; ++i) g16.at<std::uint16_t>(i / 3, i % 3) = values[i % 6];
  test::write_image(tmp / "g16.png", g16);
  const cv::Mat out = load_gray(tmp / "g16.png");
  ASSERT_EQ(out.type(), CV_8UC1);
  for (int i = 0; i < 12; ++i) {
    const int expect = static_cast<int>(std::lround(values[i % 6] * 255.0 / 65535.0));
    EXPECT_EQ(out.at<unsigned char>(i / 3, i % 3), expect) << "sample " << values[i % 6];
  }
}

TEST(Image, ColourIsConvertedWithPilLumaAndAlphaIsDropped) {
  test::TempDir tmp;
  cv::Mat bgr(2, 2, CV_8UC3), bgra(2, 2, CV_8UC4);
  const cv::Vec3b px[4] = {{10, 200, 30}, {255, 0, 0}, {0, 0, 255}, {90, 90, 90}};
  for (int i = 0; i < 4; ++i) {
    bgr.at<cv::Vec3b>(i / 2, i % 2) = px[i];
    bgra.at<cv::Vec4b>(i / 2, i % 2) = {px[i][0], px[i][1], px[i][2],
                                        static_cast<unsigned char>(i * 60)};
  }
  test::write_image(tmp / "rgb.png", bgr);
  test::write_image(tmp / "rgba.png", bgra);
  for (const char* name : {"rgb.png", "rgba.png"}) {
    const cv::Mat out = load_gray(tmp / name);
    ASSERT_EQ(out.type(), CV_8UC1);
    for (int i = 0; i < 4; ++i) {
      // PIL convert("L"): L = R*299/1000 + G*587/1000 + B*114/1000
      const double l = px[i][2] * 0.299 + px[i][1] * 0.587 + px[i][0] * 0.114;
      EXPECT_NEAR(out.at<unsigned char>(i / 2, i % 2), l, 1.0) << name << " pixel " << i;
    }
  }
}

TEST(Image, DecodesJpegGrayAndColour) {
  test::TempDir tmp;
  const cv::Mat g = gradient(64, 48);
  cv::Mat c;
  cv::cvtColor(g, c, cv::COLOR_GRAY2BGR);
  test::write_image(tmp / "g.jpg", g);
  test::write_image(tmp / "c.jpeg", c);
  for (const char* name : {"g.jpg", "c.jpeg"}) {
    const cv::Mat out = load_gray(tmp / name);
    ASSERT_EQ(out.size(), g.size());
    EXPECT_LT(cv::norm(out, g, cv::NORM_L1) / g.total(), 3.0) << name;
  }
}

TEST(Image, HeaderGivesFormatAndSizeWithoutDecoding) {
  test::TempDir tmp;
  test::write_image(tmp / "a.png", gradient(31, 17));
  test::write_image(tmp / "a.jpg", gradient(33, 19));
  const auto png = read_image_header(read_file(tmp / "a.png"), "a.png");
  EXPECT_EQ(png.format, ImageFormat::Png);
  EXPECT_EQ(png.width, 31u);
  EXPECT_EQ(png.height, 17u);
  const auto jpg = read_image_header(read_file(tmp / "a.jpg"), "a.jpg");
  EXPECT_EQ(jpg.format, ImageFormat::Jpeg);
  EXPECT_EQ(jpg.width, 33u);
  EXPECT_EQ(jpg.height, 19u);
}

TEST(Image, MissingEmptyAndNonImageFilesAreNamed) {
  test::TempDir tmp;
  expect_load_error(tmp / "missing.png", "cannot open image");
  test::write_text(tmp / "empty.png", "");
  expect_load_error(tmp / "empty.png", "empty file");
  test::write_text(tmp / "text.png", "hello, I am not a PNG at all");
  expect_load_error(tmp / "text.png", "not a PNG, JPEG or DICOM image");
  fs::create_directories(tmp / "dir.png");
  expect_load_error(tmp / "dir.png", "not a regular file");
}

TEST(Image, TruncatedPngIsRejectedAtEveryOffset) {
  test::TempDir tmp;
  test::write_image(tmp / "full.png", gradient(120, 90));
  const std::string bytes = read_file(tmp / "full.png");
  for (std::size_t cut : {std::size_t{1}, std::size_t{8}, std::size_t{20}, std::size_t{33},
                          std::size_t{60}, bytes.size() / 2, bytes.size() - 13, bytes.size() - 4}) {
    const fs::path f = tmp / ("cut" + std::to_string(cut) + ".png");
    test::write_text(f, bytes.substr(0, cut));
    try {
      load_gray(f);
      // Cutting inside the final IEND CRC leaves every pixel intact; only that may decode.
      EXPECT_GE(cut, bytes.size() - 4) << "cut at " << cut << " decoded";
    } catch (const Error& e) {
      EXPECT_TRUE(test::contains(e.what(), f.string()));
    }
  }
  expect_load_error(tmp / ("cut" + std::to_string(bytes.size() / 2) + ".png"), "truncated PNG");
}

TEST(Image, TruncatedJpegIsRejected) {
  test::TempDir tmp;
  test::write_image(tmp / "full.jpg", gradient(120, 90));
  const std::string bytes = read_file(tmp / "full.jpg");
  for (std::size_t cut :
       {std::size_t{2}, std::size_t{10}, std::size_t{100}, bytes.size() / 2, bytes.size() - 2}) {
    const fs::path f = tmp / ("cut" + std::to_string(cut) + ".jpg");
    test::write_text(f, bytes.substr(0, cut));
    EXPECT_THROW(load_gray(f), Error) << "cut at " << cut;
  }
  expect_load_error(tmp / ("cut" + std::to_string(bytes.size() / 2) + ".jpg"), "truncated JPEG");
}

TEST(Image, CorruptPngDataIsRejected) {
  test::TempDir tmp;
  test::write_image(tmp / "full.png", gradient(120, 90));
  std::string bytes = read_file(tmp / "full.png");
  for (std::size_t i = 60; i < bytes.size() - 20; ++i)
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  test::write_text(tmp / "corrupt.png", bytes);
  expect_load_error(tmp / "corrupt.png", "corrupt");
}

TEST(Image, PixelLimitIsCheckedBeforeDecoding) {
  test::TempDir tmp;
  test::write_image(tmp / "big.png", gradient(300, 200));
  DecodeOptions opt;
  opt.max_pixels = 50000;
  expect_load_error(tmp / "big.png", "300x200 (60000 pixels), over the limit of 50000", opt);
  // A header that claims 100000 x 100000 pixels is refused without allocating 10 GB.
  std::string bytes = read_file(tmp / "big.png");
  const unsigned char huge[8] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0};
  for (int i = 0; i < 8; ++i) bytes[16 + i] = static_cast<char>(huge[i]);
  test::write_text(tmp / "huge.png", bytes);
  expect_load_error(tmp / "huge.png", "100000x100000");
}

}  // namespace
}  // namespace mura::data
