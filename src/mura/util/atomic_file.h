#pragma once
/// Atomic file writes: data goes to a temporary file beside the target, is fsync'ed, then
/// renamed over the target, and the directory is fsync'ed. A reader (or a crash, or Ctrl-C)
/// sees either the old file or the complete new one, never a half-written file.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace mura {

/// Writes `data` to `path` atomically; creates parent folders. Throws mura::Error naming
/// the path on failure (the target is then untouched and the temporary removed).
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

/// Streams into `path` atomically: `fill` writes to a binary ofstream of the temporary file.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& fill);

/// Reads a whole file; throws mura::Error naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace mura
