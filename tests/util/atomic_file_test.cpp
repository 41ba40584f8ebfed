#include "mura/util/atomic_file.h"

#include <gtest/gtest.h>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura {
namespace {
namespace fs = std::filesystem;

std::size_t count_entries(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WritesAndReplaces) {
  test::TempDir dir;
  const fs::path f = dir / "sub/a.txt";
  write_file_atomic(f, "one");
  EXPECT_EQ(read_file(f), "one");
  write_file_atomic(f, "two, longer");
  EXPECT_EQ(read_file(f), "two, longer");
  EXPECT_EQ(count_entries(dir / "sub"), 1u) << "no temporary file may be left behind";
}

TEST(AtomicFile, AFailedWriteLeavesTheOldFileIntact) {
  test::TempDir dir;
  const fs::path f = dir / "ckpt.bin";
  write_file_atomic(f, "good");
  EXPECT_THROW(write_file_atomic(f,
                                 [](std::ostream& out) {
                                   out << "half-writ";
                                   throw Error("interrupted");
                                 }),
               Error);
  EXPECT_EQ(read_file(f), "good");
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
  EXPECT_ERROR_CONTAINS(read_file("/nonexistent/x.bin"), "/nonexistent/x.bin");
}

}  // namespace
}  // namespace mura
