#pragma once
/// Atomic file writes: data goes to a temporary file beside the target, is fsync'ed, then
/// renamed over the target, and the directory is fsync'ed. A reader (or a crash, or Ctrl-C)
/// sees either the old file or the complete new one, never a half-written file. A failed
/// write, close or fsync (a full disk, a quota, an I/O error) is an error before the rename,
/// so the old file stays. The temporary is ".<name>.tmp.<pid>.<n>.<host>"; one left by a
/// killed process of this host is removed by the next successful write into the same folder.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace mura {

/// Writes `data` to `path` atomically; creates parent folders. Throws mura::Error naming
/// the path on failure (the target is then untouched and the temporary removed).
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

/// Streams into `path` atomically: `fill` writes to a binary ofstream of the temporary file.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& fill);

/// Creates `dir` (and its parents) and checks that a file can be created in it, before any
/// long work whose results would go there; throws mura::Error naming `flag` and the folder
/// with the system's reason (read-only file system, permission denied, not a folder).
void ensure_writable_dir(const std::filesystem::path& dir, const std::string& flag);

/// Reads a whole file; throws mura::Error naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace mura
