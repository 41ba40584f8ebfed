#include "mura/util/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

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

TEST(AtomicFile, TemporariesLeftByKilledProcessesAreRemovedByTheNextWriteInTheFolder) {
  test::TempDir dir;
  char buf[256] = {};
  ASSERT_EQ(::gethostname(buf, sizeof buf - 1), 0);
  std::string host(buf);
  for (char& c : host)
    if (c == '/' || c == '.') c = '_';
  pid_t gone = 4000000;  // a pid no process has (kill says ESRCH)
  while (::kill(gone, 0) == 0 || errno != ESRCH) ++gone;
  const auto stale = dir / (".a.txt.tmp." + std::to_string(gone) + ".0." + host);
  const auto live = dir / (".a.txt.tmp." + std::to_string(::getppid()) + ".0." + host);
  const auto elsewhere = dir / (".a.txt.tmp." + std::to_string(gone) + ".0.otherhost");
  const auto other_file = dir / (".b.txt.tmp." + std::to_string(gone) + ".0." + host);
  for (const auto& p : {stale, live, elsewhere, other_file}) test::write_text(p, "partial");
  write_file_atomic(dir / "a.txt", "done");
  EXPECT_FALSE(fs::exists(stale)) << "the killed writer's temporary of a.txt is removed";
  EXPECT_TRUE(fs::exists(live)) << "a running process's temporary is kept";
  EXPECT_TRUE(fs::exists(elsewhere)) << "another host's (shared folder) is kept";
  EXPECT_FALSE(fs::exists(other_file)) << "a killed writer's temporary of another file too";
  EXPECT_EQ(read_file(dir / "a.txt"), "done");
}

TEST(AtomicFile, AFailedWriteNamesTheTargetAndTheReason) {
  test::TempDir dir;
  const fs::path f = dir / "m.json";
  write_file_atomic(f, "old");
  // A stream that fails as a full disk makes it fail (badbit), in the middle of the data.
  EXPECT_ERROR_CONTAINS(write_file_atomic(f,
                                          [](std::ostream& out) {
                                            out << "new, half";
                                            out.setstate(std::ios::badbit);
                                          }),
                        "cannot write " + f.string(), "writing failed", "previous file");
  EXPECT_EQ(read_file(f), "old");
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
  EXPECT_ERROR_CONTAINS(read_file("/nonexistent/x.bin"), "/nonexistent/x.bin");
}

}  // namespace
}  // namespace mura
