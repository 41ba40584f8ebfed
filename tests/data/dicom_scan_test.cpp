// The DICOM structure walk that runs before GDCM (data/dicom_scan.h), on files built byte by
// byte: what GDCM would over-allocate or abort on is refused with the element and offset.
#include "mura/data/dicom_scan.h"

#include <gtest/gtest.h>

#include <cassert>
#include <filesystem>
#include <sstream>
#include <string>

#include "../test_util.h"
#include "mura/data/gdcm_guard.h"
#include "mura/data/image.h"

namespace mura::data {
namespace {

std::string le16(unsigned v) {
  return {static_cast<char>(v & 0xff), static_cast<char>(v >> 8 & 0xff)};
}
std::string le32(unsigned v) {
  return le16(v & 0xffff) + le16(v >> 16);
}
/// An explicit VR little endian element (short or long form by VR).
std::string el(unsigned g, unsigned e, const std::string& vr, const std::string& value,
               unsigned declared = 0xFFFFFFFEu) {
  const unsigned len = declared == 0xFFFFFFFEu ? static_cast<unsigned>(value.size()) : declared;
  const bool lng = vr == "OB" || vr == "OW" || vr == "SQ" || vr == "UN" || vr == "UT";
  return le16(g) + le16(e) + vr + (lng ? std::string(2, '\0') + le32(len) : le16(len)) + value;
}
std::string meta(const std::string& ts = "1.2.840.10008.1.2.1") {
  std::string uid = ts;
  if (uid.size() % 2) uid += '\0';
  return std::string(128, '\0') + "DICM" + el(2, 0x0001, "OB", std::string("\0\1", 2)) +
         el(2, 0x0010, "UI", uid);
}
std::string pixels() {
  return el(0x0028, 0x0010, "US", le16(2)) + el(0x0028, 0x0011, "US", le16(2)) +
         el(0x7FE0, 0x0010, "OW", std::string(8, '\x10'));
}

std::string check(const std::string& bytes, bool header_only = false) {
  std::istringstream in(bytes);
  return test::error_message(
      [&] { check_dicom_structure(in, bytes.size(), "f.dcm", header_only); });
}

TEST(DicomScan, AWellFormedFilePasses) {
  EXPECT_EQ(check(meta() + el(8, 0x60, "CS", "CR") + pixels()), "(no error)");
  // a sequence of one defined-length item and one undefined-length item
  const std::string item1 = el(8, 0x100, "SH", "T1");
  const std::string sq = el(8, 0x2218, "SQ", "", 0xFFFFFFFFu) + le16(0xFFFE) + le16(0xE000) +
                         le32(static_cast<unsigned>(item1.size())) + item1 + le16(0xFFFE) +
                         le16(0xE000) + le32(0xFFFFFFFFu) + item1 + le16(0xFFFE) + le16(0xE00D) +
                         le32(0) + le16(0xFFFE) + le16(0xE0DD) + le32(0);
  EXPECT_EQ(check(meta() + sq + pixels()), "(no error)");
}

TEST(DicomScan, AnElementDeclaringMoreThanTheFileHoldsIsRefusedBeforeAnyAllocation) {
  // What fuzzing found: GDCM allocated the 2 GB this 200-byte file declares.
  const auto msg = check(meta() + el(8, 0x60, "UT", "CR", 0x84000000u));
  EXPECT_TRUE(test::contains(msg, "f.dcm")) << msg;
  EXPECT_TRUE(test::contains(msg, "(0008,0060)")) << msg;
  EXPECT_TRUE(test::contains(msg, "declares 2214592512 bytes")) << msg;
}

TEST(DicomScan, TruncatedMetaAndSequencesAreRefused) {
  // What fuzzing found: 2 bytes after "DICM" made GDCM assert (abort) in its reader.
  const std::string cut = std::string(128, '\0') + "DICM" + std::string("\x02\x00", 2);
  EXPECT_TRUE(test::contains(check(cut), "not a readable DICOM file")) << check(cut);
  const std::string open_sq = meta() + el(8, 0x2218, "SQ", "", 0xFFFFFFFFu) + le16(0xFFFE) +
                              le16(0xE000) + le32(0xFFFFFFFFu) + el(8, 0x100, "SH", "T1");
  EXPECT_TRUE(test::contains(check(open_sq), "(0008,2218)")) << check(open_sq);
  std::string deep = meta();
  for (int i = 0; i < 40; ++i)
    deep += el(8, 0x2218, "SQ", "", 0xFFFFFFFFu) + le16(0xFFFE) + le16(0xE000) + le32(0xFFFFFFFFu);
  EXPECT_TRUE(test::contains(check(deep), "nested deeper than 32")) << check(deep);
}

TEST(DicomScan, HeaderOnlyStopsAtPixelData) {
  // Pixel Data cut short: the header scan (tree indexing) does not look there, the full
  // walk (decoding) refuses it.
  const std::string cut = meta() + el(8, 0x60, "CS", "CR") + el(0x7FE0, 0x10, "OW", "", 4096);
  EXPECT_EQ(check(cut, true), "(no error)");
  EXPECT_TRUE(test::contains(check(cut, false), "(7FE0,0010)")) << check(cut, false);
}

TEST(DicomScan, DecodeRefusesWhatTheWalkRefusesWithTheFileName) {
  const std::string bad = meta() + el(8, 0x60, "UT", "CR", 0x84000000u);
  EXPECT_ERROR_CONTAINS(decode_gray(bad, "upload.dcm"), "upload.dcm", "(0008,0060)");
}

std::size_t pvrg_temporaries() {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    if (e.path().filename().string().rfind("gdcminpvrg", 0) == 0) ++n;
  return n;
}

TEST(DicomScan, ADamagedJpegIsRefusedBeforeGdcmRunsItsExternalDecoder) {
  // What fuzzing found: for JPEG data its codec cannot read, GDCM's ImageReader wrote it to
  // a tempnam() file and ran /usr/bin/pvrg-jpeg through system().
  const std::string fragments = le16(0xFFFE) + le16(0xE000) + le32(0) + le16(0xFFFE) +
                                le16(0xE000) + le32(16) + std::string(16, '\x5a') + le16(0xFFFE) +
                                le16(0xE0DD) + le32(0);
  const std::string file =
      meta("1.2.840.10008.1.2.4.50") + el(8, 0x60, "CS", "CR") + el(0x0028, 0x0002, "US", le16(1)) +
      el(0x0028, 0x0004, "CS", "MONOCHROME2 ") + el(0x0028, 0x0010, "US", le16(4)) +
      el(0x0028, 0x0011, "US", le16(4)) + el(0x0028, 0x0100, "US", le16(8)) +
      el(0x0028, 0x0101, "US", le16(8)) + el(0x0028, 0x0102, "US", le16(7)) +
      el(0x0028, 0x0103, "US", le16(0)) + el(0x7FE0, 0x0010, "OB", "", 0xFFFFFFFFu) + fragments;
  EXPECT_EQ(check(file), "(no error)") << "the structure is fine; the JPEG inside is not";
  const std::size_t before = pvrg_temporaries();
  EXPECT_ERROR_CONTAINS(decode_gray(file, "jpeg.dcm"), "jpeg.dcm", "JPEG");
  EXPECT_EQ(pvrg_temporaries(), before) << "no temporary file for an external decoder";
}

TEST(GdcmGuard, AFailedAssertInsideTheGuardIsACheckedErrorAndTheGuardNests) {
  // What GDCM's assert() calls (mura's definition replaces glibc's in the process).
  EXPECT_ERROR_CONTAINS(
      guard_gdcm("scan.dcm", [] { __assert_fail("is.good()", "/x/gdcmReader.cxx", 385, "f"); }),
      "scan.dcm", "'is.good()' (gdcmReader.cxx:385)");
  int after = 0;
  EXPECT_ERROR_CONTAINS(guard_gdcm("outer.dcm",
                                   [&] {
                                     guard_gdcm("inner.dcm", [] {});
                                     ++after;
                                     __assert_fail("x", "y.cxx", 1, "g");
                                   }),
                        "outer.dcm");
  EXPECT_EQ(after, 1);
  bool ran = false;
  guard_gdcm("ok.dcm", [&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(GdcmGuardDeathTest, OutsideAGuardAFailedAssertStillAborts) {
  EXPECT_DEATH(__assert_fail("outside", "z.cxx", 7, "h"), "Assertion `outside' failed");
}

}  // namespace
}  // namespace mura::data
