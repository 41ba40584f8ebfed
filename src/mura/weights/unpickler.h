#pragma once
/// The pickle opcode machine (torch/csrc/jit/serialization/unpickler in PyTorch): protocols 2 to
/// 5 as torch.save emits them, an allow-list of globals, and REDUCE/NEWOBJ interpreted for the
/// few callables a state dict uses; nothing in the file is ever executed. Internal to
/// mura::weights.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "mura/weights/parse_util.h"
#include "mura/weights/pickle_value.h"

namespace mura::weights::detail {

/// Answers BINPERSID: the value for persistent id `pid` met at byte `at`.
using PersistentLoad = std::function<Value*(const Value* pid, std::size_t at)>;

/// What one pickle left: its value, and the byte after its STOP opcode.
struct Unpickled {
  Value* value;
  std::size_t end;
};

/// Runs one pickle from `start` to its STOP. `data` is the whole buffer the pickle lives in
/// (so truncation is measured against it) and byte offsets in messages are relative to it;
/// `label` names the pickle in messages. Without `persistent_load`, a persistent id is an
/// error. Tensors rebuilt are recorded in `tables`.
Unpickled unpickle(const Source& src, Arena& arena, std::string_view data, std::size_t start,
                   std::string label, PersistentLoad persistent_load, Tables& tables);

/// persistent_load for both containers: ('storage', StorageType, key, location, numel[,
/// view_metadata]). Legacy files add view_metadata, None or (view_key, offset, view_numel).
Value* load_storage(const Source& src, Arena& arena, Tables& tables, const std::string& label,
                    const Value* pid, std::size_t at);

}  // namespace mura::weights::detail
