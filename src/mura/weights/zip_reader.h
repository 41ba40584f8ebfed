#pragma once
/// The zip container of torch.save files (PyTorch >= 1.6; caffe2/serialize/inline_container in
/// PyTorch): the end-of-central-directory record (zip64 included), the central directory and
/// each record's local header. Records must be stored (torch never compresses); a record's
/// CRC-32 is checked when its bytes are taken (`checked`). Internal to mura::weights.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mura/weights/parse_util.h"

namespace mura::weights::detail {

/// One record: its bytes inside the archive and the CRC-32 the central directory gives.
struct ZipRecord {
  std::string_view data;  ///< stored: the record's bytes; compressed: its compressed bytes
  std::uint32_t crc;
  bool compressed = false;  ///< only with read_zip(..., allow_compressed = true)
};

/// CRC-32 (zip's polynomial), slice-by-8.
std::uint32_t crc32(const char* data, std::size_t n);

/// The records of the archive `z` by name; `order` receives the names in directory order.
/// Throws a ParseError (through `src`) for a corrupt, truncated, encrypted or compressed one.
/// `allow_compressed`: LibTorch's own archives (mura's checkpoints) deflate their code/
/// records; those are listed (bounds checked) with `compressed` set instead of refused.
std::unordered_map<std::string, ZipRecord> read_zip(const Source& src, std::string_view z,
                                                    std::vector<std::string>& order,
                                                    bool allow_compressed = false);

/// The bytes of record `name`, once its CRC-32 matches.
std::string_view checked(const Source& src, const std::string& name, const ZipRecord& r);

}  // namespace mura::weights::detail
