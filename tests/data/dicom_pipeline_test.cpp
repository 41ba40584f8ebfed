// The DICOM grayscale pipeline on hand-made pixels: each step of PS3.4 N.2 and its order.
#include "mura/data/dicom_pipeline.h"

#include <gtest/gtest.h>

#include <cstring>

#include "../test_util.h"
#include "mura/data/dicom.h"
#include "mura/util/error.h"
#include "mura/util/sha256.h"

namespace mura::data::dicom {
namespace {

PixelInput gray16(int rows, int cols) {
  PixelInput in;
  in.rows = rows;
  in.cols = cols;
  in.bits_allocated = 16;
  in.bits_stored = 12;
  in.high_bit = 11;
  return in;
}

cv::Mat run(const std::vector<std::uint16_t>& px, const PixelInput& in,
            const std::string& window = "") {
  return render(px.data(), px.size() * 2, in, parse_voi_choice(window), "t.dcm");
}

TEST(DicomPipeline, UnusedHighBitsAreMaskedOff) {
  auto in = gray16(1, 3);
  in.windows = {{2048, 4096, ""}};  // LINEAR over the 12-bit range
  const auto clean = run({0x000, 0x800, 0xFFF}, in);
  const auto dirty = run({0xF000, 0xA800, 0x5FFF}, in);  // garbage in bits 12..15
  EXPECT_EQ(cv::norm(clean, dirty, cv::NORM_INF), 0.0);
  EXPECT_EQ(clean.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(clean.at<std::uint8_t>(0, 2), 255);
}

TEST(DicomPipeline, BitsEndAtHighBitAndSignedValuesAreSignExtended) {
  auto in = gray16(1, 2);
  in.bits_stored = 8;
  in.high_bit = 11;  // the 8 bits 4..11
  in.is_signed = true;
  in.windows = {{0, 256, ""}};
  // 0x80 in bits 4..11 is -128 (darkest), 0x7F is +127 (brightest)
  const auto out = run({0x0800, 0x07F0}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1), 255);
}

TEST(DicomPipeline, LinearWindowFollowsTheStandardsFormula) {
  auto in = gray16(1, 5);
  in.windows = {{100, 51, ""}};
  // PS3.3 C.11.2.1.2.1: x <= c-0.5-(w-1)/2 -> 0; x > c-0.5+(w-1)/2 -> 255; else linear
  const auto out = run({74, 75, 100, 124, 125}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1),
            static_cast<int>(std::floor(((75 - 99.5) / 50 + 0.5) * 255 + 0.5)));
  EXPECT_EQ(out.at<std::uint8_t>(0, 2),
            static_cast<int>(std::floor(((100 - 99.5) / 50 + 0.5) * 255 + 0.5)));
  EXPECT_EQ(out.at<std::uint8_t>(0, 4), 255);
}

TEST(DicomPipeline, LinearExactAndSigmoid) {
  auto in = gray16(1, 3);
  in.windows = {{100, 40, ""}};
  in.voi_function = VoiFunction::LinearExact;
  auto out = run({80, 100, 121}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1), 128);  // (0/40 + 0.5) * 255 = 127.5 -> 128
  EXPECT_EQ(out.at<std::uint8_t>(0, 2), 255);
  in.voi_function = VoiFunction::Sigmoid;
  in.cols = 2;
  out = run({100, 60}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 128);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1),
            static_cast<int>(std::floor(255.0 / (1 + std::exp(4.0)) + 0.5)));
}

TEST(DicomPipeline, RescaleComesBeforeTheWindowAndNegativeSlopesWork) {
  auto in = gray16(1, 2);
  in.slope = -2.0;
  in.intercept = 1000.0;
  in.windows = {{500, 1001, ""}};      // modality values 0..1000
  const auto out = run({500, 0}, in);  // modality 0 and 1000
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1), 255);
}

TEST(DicomPipeline, Monochrome1AndPresentationInverseInvertExactlyOnce) {
  auto in = gray16(1, 2);
  in.windows = {{2048, 4096, ""}};
  const auto plain = run({0, 4095}, in);
  in.colour = Colour::Monochrome1;
  const auto mono1 = run({0, 4095}, in);
  EXPECT_EQ(mono1.at<std::uint8_t>(0, 0), 255 - plain.at<std::uint8_t>(0, 0));
  EXPECT_EQ(mono1.at<std::uint8_t>(0, 1), 255 - plain.at<std::uint8_t>(0, 1));
  in.presentation_inverse = true;  // both say the same thing: still one inversion
  EXPECT_EQ(cv::norm(run({0, 4095}, in), mono1, cv::NORM_INF), 0.0);
  in.colour = Colour::Monochrome2;
  EXPECT_EQ(cv::norm(run({0, 4095}, in), mono1, cv::NORM_INF), 0.0);
}

TEST(DicomPipeline, PaddingIsLeftOutOfMinMaxAndRenderedBlack) {
  auto in = gray16(1, 4);
  in.padding_value = 4095;
  const auto out = run({100, 200, 300, 4095}, in);  // no VOI: min/max over 100..300
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 1), 128);
  EXPECT_EQ(out.at<std::uint8_t>(0, 2), 255);
  EXPECT_EQ(out.at<std::uint8_t>(0, 3), 0);
  in.padding_value = 0;
  in.padding_range = 150;  // a range, inclusive
  const auto ranged = run({100, 200, 300, 150}, in);
  EXPECT_EQ(ranged.at<std::uint8_t>(0, 1), 0);
  EXPECT_EQ(ranged.at<std::uint8_t>(0, 2), 255);
  EXPECT_EQ(ranged.at<std::uint8_t>(0, 3), 0);
}

TEST(DicomPipeline, WindowsAreChosenByIndexOrExplanation) {
  auto in = gray16(1, 1);
  in.windows = {{1000, 100, "BONE"}, {0, 100, "SOFT"}};
  // first by default: ((1000 - 999.5) / 99 + 0.5) * 255 = 128.8
  EXPECT_EQ(run({1000}, in).at<std::uint8_t>(0, 0), 129);
  EXPECT_EQ(run({1000}, in, "2").at<std::uint8_t>(0, 0), 255);  // above the second
  EXPECT_EQ(run({1000}, in, "soft").at<std::uint8_t>(0, 0), 255);
  EXPECT_ERROR_CONTAINS(run({1000}, in, "3"), "t.dcm", "--dicom-window 3", "2 window(s)");
  EXPECT_ERROR_CONTAINS(run({1000}, in, "LUNG"), "t.dcm", "'LUNG'", "'BONE'", "'SOFT'");
  EXPECT_ERROR_CONTAINS(parse_voi_choice("0"), "--dicom-window 0");
}

TEST(DicomPipeline, VoiLutAndModalityLut) {
  auto in = gray16(1, 3);
  Lut modality;
  modality.first_mapped = 10;
  modality.data = {0, 50, 100};  // 10 -> 0, 11 -> 50, 12 -> 100 (clamped outside)
  in.modality_lut = modality;
  Lut voi;
  voi.first_mapped = 0;
  voi.bits = 8;
  voi.data.resize(101);
  for (int i = 0; i <= 100; ++i) voi.data[i] = static_cast<std::uint16_t>(255 - i * 2);
  in.voi_luts = {voi};
  const auto out = run({5, 11, 20}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 255);  // modality 0 -> VOI 255
  EXPECT_EQ(out.at<std::uint8_t>(0, 1), 155);  // modality 50 -> 155
  EXPECT_EQ(out.at<std::uint8_t>(0, 2), 55);   // modality 100 -> 55
}

TEST(DicomPipeline, MinMaxWhenNoVoi) {
  auto in = gray16(1, 3);
  const auto out = run({1000, 1500, 2000}, in);
  EXPECT_EQ(out.at<std::uint8_t>(0, 0), 0);
  EXPECT_EQ(out.at<std::uint8_t>(0, 2), 255);
  in.windows = {{0, 10, ""}};
  EXPECT_EQ(run({1000, 1500, 2000}, in, "minmax").at<std::uint8_t>(0, 1), 128);
}

TEST(DicomPipeline, ColourBecomesTheLumaOfThePngPath) {
  PixelInput in;
  in.rows = 1;
  in.cols = 2;
  in.samples = 3;
  in.bits_allocated = in.bits_stored = 8;
  in.high_bit = 7;
  in.colour = Colour::Rgb;
  const std::uint8_t rgb[] = {255, 0, 0, 10, 200, 30};
  const auto out = render(rgb, sizeof rgb, in, {}, "c.dcm");
  EXPECT_NEAR(out.at<std::uint8_t>(0, 0), 76, 1);  // 0.299 * 255
  EXPECT_NEAR(out.at<std::uint8_t>(0, 1), 0.299 * 10 + 0.587 * 200 + 0.114 * 30, 1);
  in.planar = 1;  // RR GG BB
  const std::uint8_t planar[] = {255, 10, 0, 200, 0, 30};
  EXPECT_EQ(cv::norm(render(planar, sizeof planar, in, {}, "c.dcm"), out, cv::NORM_INF), 0.0);
  in.colour = Colour::YbrFull;
  in.planar = 0;
  EXPECT_EQ(render(rgb, sizeof rgb, in, {}, "c.dcm").at<std::uint8_t>(0, 1), 10);  // Y itself
}

TEST(DicomPipeline, InconsistentInputIsACheckedError) {
  auto in = gray16(2, 2);
  const std::vector<std::uint16_t> three = {1, 2, 3};
  EXPECT_ERROR_CONTAINS(run(three, in), "t.dcm", "Pixel Data (7FE0,0010) holds 6 bytes", "8");
  in.high_bit = 16;
  EXPECT_ERROR_CONTAINS(run({1, 2, 3, 4}, in), "High Bit (0028,0102) 16");
  in = gray16(1, 1);
  in.windows = {{0, 0.5, ""}};
  EXPECT_ERROR_CONTAINS(run({1}, in), "Window Width (0028,1051) must be >= 1");
}

TEST(DicomRecognition, ByContentNotByName) {
  std::string preamble(128, '\0');
  EXPECT_TRUE(data::looks_like_dicom(preamble + "DICM" + std::string(16, '\0')));
  const char implicit[] = {0x08, 0x00, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x00};
  EXPECT_TRUE(data::looks_like_dicom(std::string(implicit, 8)));
  const char explicit_le[] = {0x08, 0x00, 0x05, 0x00, 'C', 'S', 0x0a, 0x00};
  EXPECT_TRUE(data::looks_like_dicom(std::string(explicit_le, 8)));
  EXPECT_FALSE(data::looks_like_dicom("\x89PNG\r\n\x1a\n........"));
  EXPECT_FALSE(data::looks_like_dicom("hello, I am a text file named .dcm"));
  EXPECT_FALSE(data::looks_like_dicom(""));
}

TEST(DicomBodyPart, TermsAndVendorSpellings) {
  EXPECT_EQ(data::body_part_from_term("WRIST"), "XR_WRIST");
  EXPECT_EQ(data::body_part_from_term("HANDGELENK"), "XR_WRIST");
  EXPECT_EQ(data::body_part_from_term("LOWER ARM"), "XR_FOREARM");
  EXPECT_EQ(data::body_part_from_term("UPPER ARM"), "XR_HUMERUS");
  EXPECT_EQ(data::body_part_from_term("ARM"), "XR_HUMERUS");
  EXPECT_EQ(data::body_part_from_term("THUMB"), "XR_FINGER");
  EXPECT_EQ(data::body_part_from_term("Left Hand 3 views"), "XR_HAND");
  EXPECT_EQ(data::body_part_from_term("WRIST/HAND"), "");  // two parts: none
  EXPECT_EQ(data::body_part_from_term("CSPINE"), "");
}

TEST(Sha256, MatchesTheStandardsVectors) {
  auto hex = [](const std::array<std::uint8_t, 32>& d) { return to_hex(d.data(), d.size()); };
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // RFC 4231 test case 2
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace mura::data::dicom
