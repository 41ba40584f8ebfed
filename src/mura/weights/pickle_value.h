#pragma once
/// The values the pickle machine (unpickler.h) produces, and what they mean for a state dict:
/// the storages and tensors a pickle refers to, which dict holds the tensors, and the tensors
/// themselves once the container has supplied the storages' bytes. Internal to mura::weights.
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mura/weights/parse_util.h"
#include "mura/weights/pth_reader.h"

namespace mura::weights::detail {

/// A pickle value. Values live in an Arena and refer to each other by pointer, so memoised
/// objects mutated later (an OrderedDict filled by SETITEMS after BINPUT) are shared as in
/// Python, cycles cannot leak, and nothing is destroyed recursively.
struct Value {
  enum class Kind {
    None,
    Bool,
    Int,
    BigInt,
    Float,
    Str,
    Bytes,
    Tuple,
    List,
    Dict,
    Set,
    Global,
    Storage,
    Tensor,
    Device
  };
  Kind kind = Kind::None;
  bool flag = false;             // Bool: the value
  std::int64_t i = 0;            // Int: the value; Storage: storage index; Tensor: spec index
  std::int64_t view_base = 0;    // Storage: first element of a legacy storage view
  std::int64_t view_numel = -1;  // Storage: elements of a legacy view (-1: the whole storage)
  double f = 0;                  // Float
  std::string s;                 // Str, Bytes, BigInt (little-endian bytes), Global, Device
  std::vector<Value*> items;     // Tuple, List, Set
  std::vector<std::pair<Value*, Value*>> entries;      // Dict, in insertion order
  std::unordered_map<std::string, std::size_t> index;  // Dict: hashable key -> entries slot
};
using Kind = Value::Kind;

/// "None", "the int 3", "a dict of 2", ...: how messages name a value.
std::string describe(const Value* v);

class Arena {
 public:
  Value* make(Kind kind) {
    values_.emplace_back();
    values_.back().kind = kind;
    return &values_.back();
  }

 private:
  std::deque<Value> values_;  // stable addresses
};

/// d[key] = value, keeping insertion order (a repeated key keeps its first slot).
void dict_set(Value* dict, Value* key, Value* value);

/// d[key] for a string key; nullptr when absent.
const Value* dict_get(const Value* dict, const std::string& key);

/// dtype of "torch.FloatStorage" / "torch.cuda.FloatStorage" (a CUDA file loads to the CPU).
std::optional<c10::ScalarType> storage_dtype(std::string_view global);

/// Whether a pickle may name this global (the allow-list of a state dict).
bool allowed_global(const std::string& qualified);

/// One storage a pickle refers to (persistent id), and its bytes once the container is read.
struct StorageInfo {
  std::string key;
  c10::ScalarType dtype;
  std::size_t elsize;
  std::int64_t numel;
  std::string_view bytes;
  bool has_bytes = false;
};

/// What `_rebuild_tensor(_v2)` was asked to build; materialised once the storages are known.
struct TensorSpec {
  std::size_t storage;
  std::int64_t view_base;
  std::int64_t view_numel;  // -1: the whole storage
  std::int64_t offset;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
};

struct Tables {
  std::vector<StorageInfo> storages;
  std::unordered_map<std::string, std::size_t> by_key;
  std::vector<TensorSpec> tensors;
};

/// The dict that holds the tensors: the top level, or its state_dict / model_state_dict.
const Value* select_state_dict(const Source& src, const Value* top);

/// The tensors of `dict` in order, materialised as contiguous CPU copies; every storage they
/// use must have its bytes.
StateDict collect(const Source& src, const Tables& tables, const Value* dict,
                  std::uint64_t max_bytes);

}  // namespace mura::weights::detail
