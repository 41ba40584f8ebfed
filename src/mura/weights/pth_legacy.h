#pragma once
/// The legacy torch.save format (`_use_new_zipfile_serialization=False`; import_legacy in
/// PyTorch): a stream of pickles (magic number, protocol 1001, sys_info, the object, the sorted
/// storage keys) followed by each storage as an 8-byte little-endian element count and the raw
/// elements. Internal to mura::weights.
#include <cstdint>
#include <string_view>

#include "mura/weights/parse_util.h"
#include "mura/weights/pth_reader.h"

namespace mura::weights::detail {

/// Reads a legacy file (`bytes` starts with a pickle); tensors larger than `max_bytes` fail.
PthFile read_legacy_pth(const Source& src, std::string_view bytes, std::uint64_t max_bytes);

}  // namespace mura::weights::detail
