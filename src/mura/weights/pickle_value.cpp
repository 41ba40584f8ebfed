#include "mura/weights/pickle_value.h"

#include <torch/types.h>

#include <array>
#include <cstring>
#include <limits>

namespace mura::weights::detail {

// ---------------------------------------------------------------- pickle values

std::string describe(const Value* v) {
  switch (v->kind) {
    case Kind::None:
      return "None";
    case Kind::Bool:
      return v->flag ? "the bool True" : "the bool False";
    case Kind::Int:
      return "the int " + std::to_string(v->i);
    case Kind::BigInt:
      return "a big int";
    case Kind::Float:
      return "a float";
    case Kind::Str:
      return "the string " + quote(v->s);
    case Kind::Bytes:
      return "a bytes object";
    case Kind::Tuple:
      return "a tuple of " + std::to_string(v->items.size());
    case Kind::List:
      return "a list of " + std::to_string(v->items.size());
    case Kind::Dict:
      return "a dict of " + std::to_string(v->entries.size());
    case Kind::Set:
      return "a set";
    case Kind::Global:
      return "the global " + v->s;
    case Kind::Storage:
      return "a storage";
    case Kind::Tensor:
      return "a tensor";
    case Kind::Device:
      return "a torch.device";
  }
  return "a value";
}

namespace {

/// Dict key for the index: strings, bytes and ints hash; other keys are simply appended.
std::optional<std::string> hash_key(const Value* k) {
  switch (k->kind) {
    case Kind::Str:
      return "s" + k->s;
    case Kind::Bytes:
      return "b" + k->s;
    case Kind::Int:
      return "i" + std::to_string(k->i);
    case Kind::Bool:
      return std::string(k->flag ? "i1" : "i0");
    case Kind::None:
      return std::string("n");
    default:
      return std::nullopt;
  }
}

}  // namespace

void dict_set(Value* dict, Value* key, Value* value) {
  const auto h = hash_key(key);
  if (h) {
    const auto it = dict->index.find(*h);
    if (it != dict->index.end()) {
      dict->entries[it->second].second = value;  // Python: a repeated key keeps its first slot
      return;
    }
    dict->index.emplace(*h, dict->entries.size());
  }
  dict->entries.emplace_back(key, value);
}

const Value* dict_get(const Value* dict, const std::string& key) {
  const auto it = dict->index.find("s" + key);
  return it == dict->index.end() ? nullptr : dict->entries[it->second].second;
}

// ---------------------------------------------------------------- globals and storages

namespace {

struct StorageType {
  const char* name;
  c10::ScalarType dtype;
};
constexpr std::array<StorageType, 12> kStorageTypes{{
    {"FloatStorage", c10::ScalarType::Float},
    {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
    {"ComplexFloatStorage", c10::ScalarType::ComplexFloat},
    {"ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
}};

}  // namespace

/// dtype of "torch.FloatStorage" / "torch.cuda.FloatStorage" (a CUDA file loads to the CPU).
std::optional<c10::ScalarType> storage_dtype(std::string_view global) {
  for (const std::string_view prefix : {"torch.cuda.", "torch."}) {
    if (global.substr(0, prefix.size()) != prefix) continue;
    const std::string_view name = global.substr(prefix.size());
    for (const auto& t : kStorageTypes)
      if (name == t.name) return t.dtype;
  }
  return std::nullopt;
}

namespace {

constexpr std::array<const char*, 9> kCallables{{
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
    "torch.Tensor",
    "torch.nn.parameter.Parameter",
    "torch.device",
}};

}  // namespace

bool allowed_global(const std::string& qualified) {
  if (storage_dtype(qualified)) return true;
  for (const char* callable : kCallables)
    if (qualified == callable) return true;
  return false;
}

// ---------------------------------------------------------------- state dict and tensors

/// The dict that holds the tensors: the top level, or its state_dict / model_state_dict.
const Value* select_state_dict(const Source& src, const Value* top) {
  if (top->kind != Kind::Dict)
    src.fail("the pickle holds " + describe(top) + ", not a dict of tensors (a state dict)");
  auto first_non_tensor = [](const Value* d) -> const std::pair<Value*, Value*>* {
    for (const auto& e : d->entries) {
      if (e.second->kind == Kind::Tensor) continue;
      if (e.first->kind == Kind::Str && e.first->s == "_metadata") continue;
      return &e;
    }
    return nullptr;
  };
  const Value* dict = top;
  if (first_non_tensor(top)) {
    for (const char* key : {"state_dict", "model_state_dict"}) {
      const Value* inner = dict_get(top, key);
      if (inner && inner->kind == Kind::Dict) {
        dict = inner;
        break;
      }
    }
  }
  if (const auto* bad = first_non_tensor(dict)) {
    const std::string key =
        bad->first->kind == Kind::Str ? quote(bad->first->s) : describe(bad->first);
    src.fail("not a state dict: entry " + key + " holds " + describe(bad->second) +
             ", not a tensor" +
             (dict == top ? " (and there is no 'state_dict' or 'model_state_dict' entry)" : ""));
  }
  bool any = false;
  for (const auto& e : dict->entries) any = any || e.second->kind == Kind::Tensor;
  if (!any) src.fail("the pickle holds no tensors (an empty dict)");
  return dict;
}

namespace {

torch::Tensor materialise(const Source& src, const Tables& tables, const TensorSpec& spec,
                          const std::string& name, std::uint64_t max_bytes) {
  const StorageInfo& st = tables.storages[spec.storage];
  const auto options = torch::TensorOptions().dtype(st.dtype);
  const std::string what = "tensor " + quote(name) + " (size " + join_ints(spec.sizes) +
                           ", stride " + join_ints(spec.strides) + ", offset " +
                           std::to_string(spec.offset) + ")";
  std::int64_t numel = 1;
  std::int64_t last = spec.offset;  // last element the tensor reads, relative to the view
  bool overflow = false;
  for (std::size_t d = 0; d < spec.sizes.size(); ++d) {
    overflow |= __builtin_mul_overflow(numel, spec.sizes[d], &numel);
    std::int64_t reach = 0;
    if (spec.sizes[d] > 0) {
      overflow |= __builtin_mul_overflow(spec.sizes[d] - 1, spec.strides[d], &reach);
      overflow |= __builtin_add_overflow(last, reach, &last);
    }
  }
  if (overflow) src.fail(what + " overflows 64-bit sizes");
  if (numel == 0) return torch::empty(spec.sizes, options);
  const std::int64_t visible = spec.view_numel >= 0 ? spec.view_numel : st.numel - spec.view_base;
  if (last >= visible)
    src.fail(what + " reads element " + std::to_string(last) + " of its storage " + quote(st.key) +
             ", which holds " + std::to_string(visible) + " elements");
  const std::uint64_t nbytes = static_cast<std::uint64_t>(numel) * st.elsize;
  if (numel > std::numeric_limits<std::int64_t>::max() / static_cast<std::int64_t>(st.elsize) ||
      nbytes > max_bytes)
    src.fail(what + " would need " + std::to_string(nbytes) + " bytes (limit " +
             std::to_string(max_bytes) + ")");
  const char* first =
      st.bytes.data() + (spec.view_base + spec.offset) * static_cast<std::int64_t>(st.elsize);

  bool contiguous = true;
  std::int64_t expected = 1;
  for (std::size_t d = spec.sizes.size(); d-- > 0;) {
    if (spec.sizes[d] != 1 && spec.strides[d] != expected) contiguous = false;
    expected *= spec.sizes[d];
  }
  if (contiguous) {
    torch::Tensor t = torch::empty(spec.sizes, options);
    std::memcpy(t.data_ptr(), first, static_cast<std::size_t>(nbytes));
    return t;
  }
  const std::size_t span = static_cast<std::size_t>(last - spec.offset + 1) * st.elsize;
  torch::Tensor aligned;  // keeps a copy alive when the file's bytes are misaligned
  void* base = const_cast<char*>(first);
  if (reinterpret_cast<std::uintptr_t>(first) % st.elsize != 0) {
    aligned = torch::empty({static_cast<std::int64_t>(span)}, torch::kUInt8);
    std::memcpy(aligned.data_ptr(), first, span);
    base = aligned.data_ptr();
  }
  return torch::from_blob(base, spec.sizes, spec.strides, options)
      .clone(at::MemoryFormat::Contiguous);
}

}  // namespace

StateDict collect(const Source& src, const Tables& tables, const Value* dict,
                  std::uint64_t max_bytes) {
  StateDict out;
  out.reserve(dict->entries.size());
  for (const auto& [key, value] : dict->entries) {
    if (value->kind != Kind::Tensor) continue;  // `_metadata`
    if (key->kind != Kind::Str) src.fail("state dict key " + describe(key) + " is not a string");
    const TensorSpec& spec = tables.tensors[static_cast<std::size_t>(value->i)];
    if (!tables.storages[spec.storage].has_bytes)
      src.fail("tensor " + quote(key->s) + " has no storage data");
    out.push_back({key->s, materialise(src, tables, spec, key->s, max_bytes)});
  }
  return out;
}

}  // namespace mura::weights::detail
