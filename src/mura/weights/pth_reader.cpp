#include "mura/weights/pth_reader.h"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "mura/util/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mura's .pth reader assumes a little-endian host (torch files are little-endian)"
#endif

namespace mura::weights {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- errors and bytes

/// An Error raised while parsing; `truncated` marks input that ended too early, so the
/// legacy reader can tell a cut-short torch file from some other pickle.
class ParseError : public Error {
 public:
  ParseError(const std::string& message, bool truncated) : Error(message), truncated_(truncated) {}
  bool truncated() const { return truncated_; }

 private:
  bool truncated_;
};

/// The name used in messages, and the two ways of failing.
struct Source {
  std::string name;
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError(location(name) + what, false);
  }
  [[noreturn]] void truncated(const std::string& what) const {
    throw ParseError(location(name) + "truncated: " + what, true);
  }
};

std::uint16_t le16(const char* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint32_t le32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
std::uint64_t le64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string hex(unsigned v, int digits = 2) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = kDigits[v & 15];
  return s;
}

std::string quote(std::string_view s) {
  std::string out = "'";
  for (const char c : s.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {  // keeps messages printable whatever the file holds
      out += "\\x" + hex(u);
    } else {
      out += c;
    }
  }
  if (s.size() > 200) out += "...";
  return out + "'";
}

std::string join_ints(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// CRC-32 (zip's polynomial), slice-by-8: about 1-2 GB/s, so checking every record of a
/// 100 MB file costs well under 100 ms.
std::uint32_t crc32(const char* data, std::size_t n) {
  struct Table {
    std::uint32_t t[8][256];
    Table() {
      for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
      }
      for (std::uint32_t i = 0; i < 256; ++i)
        for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  };
  static const Table table;
  const auto& t = table.t;
  std::uint32_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    const std::uint32_t a = le32(data) ^ c;
    const std::uint32_t b = le32(data + 4);
    c = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
        t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
    data += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ static_cast<unsigned char>(*data++)) & 0xff] ^ (c >> 8);
  return ~c;
}

// ---------------------------------------------------------------- pickle values

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

bool allowed_global(const std::string& qualified) {
  if (storage_dtype(qualified)) return true;
  for (const char* callable : kCallables)
    if (qualified == callable) return true;
  return false;
}

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

// ---------------------------------------------------------------- the pickle VM

const char* opcode_name(unsigned op) {
  switch (op) {
    case 0x80:
      return "PROTO";
    case 0x95:
      return "FRAME";
    case 'c':
      return "GLOBAL";
    case 0x93:
      return "STACK_GLOBAL";
    case 'R':
      return "REDUCE";
    case 0x81:
      return "NEWOBJ";
    case 'b':
      return "BUILD";
    case '(':
      return "MARK";
    case '}':
      return "EMPTY_DICT";
    case ']':
      return "EMPTY_LIST";
    case ')':
      return "EMPTY_TUPLE";
    case 0x85:
      return "TUPLE1";
    case 0x86:
      return "TUPLE2";
    case 0x87:
      return "TUPLE3";
    case 't':
      return "TUPLE";
    case 'l':
      return "LIST";
    case 'd':
      return "DICT";
    case 's':
      return "SETITEM";
    case 'u':
      return "SETITEMS";
    case 'a':
      return "APPEND";
    case 'e':
      return "APPENDS";
    case 0x8f:
      return "EMPTY_SET";
    case 0x90:
      return "ADDITEMS";
    case 0x91:
      return "FROZENSET";
    case 'q':
      return "BINPUT";
    case 'r':
      return "LONG_BINPUT";
    case 0x94:
      return "MEMOIZE";
    case 'h':
      return "BINGET";
    case 'j':
      return "LONG_BINGET";
    case 'J':
      return "BININT";
    case 'K':
      return "BININT1";
    case 'M':
      return "BININT2";
    case 0x8a:
      return "LONG1";
    case 0x8b:
      return "LONG4";
    case 'X':
      return "BINUNICODE";
    case 0x8c:
      return "SHORT_BINUNICODE";
    case 0x8d:
      return "BINUNICODE8";
    case 'T':
      return "BINSTRING";
    case 'U':
      return "SHORT_BINSTRING";
    case 'B':
      return "BINBYTES";
    case 'C':
      return "SHORT_BINBYTES";
    case 0x8e:
      return "BINBYTES8";
    case 0x96:
      return "BYTEARRAY8";
    case 'N':
      return "NONE";
    case 0x88:
      return "NEWTRUE";
    case 0x89:
      return "NEWFALSE";
    case 'G':
      return "BINFLOAT";
    case 'Q':
      return "BINPERSID";
    case '0':
      return "POP";
    case '1':
      return "POP_MARK";
    case '2':
      return "DUP";
    case '.':
      return "STOP";
    // Known to Python but not accepted here (text protocol 0, extensions, out-of-band buffers).
    case 'I':
      return "INT";
    case 'L':
      return "LONG";
    case 'F':
      return "FLOAT";
    case 'S':
      return "STRING";
    case 'V':
      return "UNICODE";
    case 'P':
      return "PERSID";
    case 'g':
      return "GET";
    case 'p':
      return "PUT";
    case 'i':
      return "INST";
    case 'o':
      return "OBJ";
    case 0x82:
      return "EXT1";
    case 0x83:
      return "EXT2";
    case 0x84:
      return "EXT4";
    case 0x92:
      return "NEWOBJ_EX";
    case 0x97:
      return "NEXT_BUFFER";
    case 0x98:
      return "READONLY_BUFFER";
    default:
      return nullptr;
  }
}

using PersistentLoad = std::function<Value*(const Value* pid, std::size_t at)>;

/// Runs one pickle from `start` to its STOP. `data` is the whole buffer the pickle lives in
/// (so truncation is measured against it) and byte offsets in messages are relative to it.
class Unpickler {
 public:
  Unpickler(const Source& src, Arena& arena, std::string_view data, std::string label,
            PersistentLoad persistent_load, Tables& tables)
      : src_(src),
        arena_(arena),
        data_(data),
        label_(std::move(label)),
        persistent_load_(std::move(persistent_load)),
        tables_(tables) {}

  Value* load(std::size_t start) {
    pos_ = start;
    for (;;) {
      if (pos_ >= data_.size())
        src_.truncated(label_ + " ends at byte " + std::to_string(pos_) +
                       ", before its STOP opcode");
      op_pos_ = pos_;
      op_ = static_cast<unsigned char>(data_[pos_++]);
      if (step()) return result_;
    }
  }
  std::size_t end() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    src_.fail(what + " (" + label_ + ", byte " + std::to_string(op_pos_) + ")");
  }
  std::string op_text() const {
    const char* name = opcode_name(op_);
    return std::string(name ? name : "unknown") + " (0x" + hex(op_) + ")";
  }

  const char* take(std::uint64_t n) {
    if (n > data_.size() - pos_)
      src_.truncated(label_ + " ends at byte " + std::to_string(data_.size()) +
                     " inside the pickle opcode " + op_text() + " at byte " +
                     std::to_string(op_pos_));
    const char* p = data_.data() + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(*take(1)); }
  std::uint16_t u16() { return le16(take(2)); }
  std::uint32_t u32() { return le32(take(4)); }
  std::uint64_t u64() { return le64(take(8)); }
  std::string line() {
    const std::size_t nl = data_.find('\n', pos_);
    if (nl == std::string_view::npos) take(data_.size() - pos_ + 1);  // throws: truncated
    std::string s(data_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }

  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value* v) { stack_.push_back(v); }
  Value* pop() {
    if (stack_.size() <= floor()) fail("pickle stack underflow at " + op_text());
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= floor()) fail("pickle stack underflow at " + op_text());
    return stack_.back();
  }
  std::vector<Value*> pop_mark() {
    if (marks_.empty()) fail("pickle opcode " + op_text() + " without a MARK");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Value* expect(Value* v, Kind kind, const char* what) {
    if (v->kind != kind)
      fail(std::string(what) + " expected, found " + describe(v) + " at " + op_text());
    return v;
  }
  Value* make(Kind kind) { return arena_.make(kind); }
  Value* make_int(std::int64_t i) {
    Value* v = make(Kind::Int);
    v->i = i;
    return v;
  }
  Value* make_str(Kind kind, std::uint64_t n) {
    Value* v = make(kind);
    v->s.assign(take(n), static_cast<std::size_t>(n));
    return v;
  }
  Value* make_long(std::uint64_t n) {
    const char* p = take(n);
    if (n > 8) {
      Value* v = make(Kind::BigInt);
      v->s.assign(p, static_cast<std::size_t>(n));
      return v;
    }
    std::uint64_t u = 0;
    for (std::uint64_t k = 0; k < n; ++k)
      u |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[k])) << (8 * k);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(p[n - 1]) & 0x80)) u |= ~0ull << (8 * n);
    return make_int(static_cast<std::int64_t>(u));
  }
  Value* make_tuple(std::vector<Value*> items) {
    Value* v = make(Kind::Tuple);
    v->items = std::move(items);
    return v;
  }
  void memo_put(std::uint64_t key) { memo_[key] = top(); }
  void memo_get(std::uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("pickle memo entry " + std::to_string(key) + " does not exist");
    push(it->second);
  }
  Value* global(const std::string& module, const std::string& name) {
    const std::string q = module + "." + name;
    if (!allowed_global(q))
      fail("refusing the pickle global " + quote(q) +
           ": only the globals of a state dict are allowed (collections.OrderedDict, "
           "torch._utils._rebuild_tensor_v2, torch.*Storage, ...)");
    Value* v = make(Kind::Global);
    v->s = q;
    return v;
  }

  std::int64_t as_int(const Value* v, const char* what) {
    if (v->kind != Kind::Int) fail(std::string(what) + " must be an int, found " + describe(v));
    return v->i;
  }
  std::vector<std::int64_t> as_ints(const Value* v, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List)
      fail(std::string(what) + " must be a tuple of ints, found " + describe(v));
    std::vector<std::int64_t> out;
    for (const Value* x : v->items) {
      const std::int64_t i = as_int(x, what);
      if (i < 0) fail(std::string(what) + " has a negative entry " + std::to_string(i));
      out.push_back(i);
    }
    return out;
  }

  Value* rebuild_tensor(const std::vector<Value*>& a) {
    const Value* storage = a[0];
    if (storage->kind != Kind::Storage)
      fail("tensor rebuilt from " + describe(storage) + " instead of a storage");
    TensorSpec spec;
    spec.storage = static_cast<std::size_t>(storage->i);
    spec.view_base = storage->view_base;
    spec.view_numel = storage->view_numel;
    spec.offset = as_int(a[1], "the tensor's storage offset");
    if (spec.offset < 0) fail("negative storage offset " + std::to_string(spec.offset));
    spec.sizes = as_ints(a[2], "the tensor's size");
    spec.strides = as_ints(a[3], "the tensor's stride");
    if (spec.sizes.size() != spec.strides.size())
      fail("tensor size " + join_ints(spec.sizes) + " and stride " + join_ints(spec.strides) +
           " differ in length");
    if (spec.sizes.size() > 64) fail("tensor with more than 64 dimensions");
    Value* v = make(Kind::Tensor);
    v->i = static_cast<std::int64_t>(tables_.tensors.size());
    tables_.tensors.push_back(std::move(spec));
    return v;
  }

  /// REDUCE / NEWOBJ: the few callables a state dict uses, interpreted, never executed.
  Value* call(Value* fn, Value* args_value) {
    for (;;) {
      if (fn->kind != Kind::Global)
        fail("pickle calls " + describe(fn) + ", which is not callable");
      if (args_value->kind != Kind::Tuple)
        fail("arguments of " + fn->s + " must be a tuple, found " + describe(args_value));
      if (fn->s != "torch._tensor._rebuild_from_type_v2") break;
      // _rebuild_from_type_v2(func, type, args, state) = func(*args) for plain tensors and
      // parameters; unwrapped in a loop so a forged chain cannot exhaust the stack.
      const std::vector<Value*>& a = args_value->items;
      if (a.size() != 4) fail(fn->s + " called with " + std::to_string(a.size()) + " arguments");
      expect(a[1], Kind::Global, "a tensor type");
      if (a[1]->s != "torch.Tensor" && a[1]->s != "torch.nn.parameter.Parameter")
        fail("tensor subclass " + a[1]->s + " is not supported");
      fn = a[0];
      args_value = a[2];
    }
    const std::vector<Value*>& a = args_value->items;
    const std::string& f = fn->s;
    auto arity = [&](std::size_t lo, std::size_t hi) {
      if (a.size() < lo || a.size() > hi)
        fail(f + " called with " + std::to_string(a.size()) + " arguments");
    };
    if (f == "collections.OrderedDict") {
      arity(0, 0);
      Value* d = make(Kind::Dict);
      d->flag = true;
      return d;
    }
    if (f == "torch._utils._rebuild_tensor_v2") {
      arity(6, 7);
      return rebuild_tensor(a);
    }
    if (f == "torch._utils._rebuild_tensor") {
      arity(4, 4);
      return rebuild_tensor(a);
    }
    if (f == "torch._utils._rebuild_parameter" ||
        f == "torch._utils._rebuild_parameter_with_state") {
      arity(3, 4);
      return expect(a[0], Kind::Tensor, "a parameter's data");
    }
    if (f == "torch.device") {
      arity(1, 2);
      Value* d = make(Kind::Device);
      d->s = expect(a[0], Kind::Str, "a device name")->s;
      return d;
    }
    fail("pickle calls " + f + ", which is not a function a state dict uses");
  }

  void build(Value* obj, Value*) {
    // An OrderedDict's state is its __dict__ (torch sets `_metadata` there); tensors carry
    // Python attributes the same way. Neither matters for the weights.
    if (obj->kind != Kind::Dict && obj->kind != Kind::Tensor)
      fail("pickle BUILD on " + describe(obj) + " is not supported");
  }

  /// Executes op_; returns true at STOP.
  bool step() {
    switch (op_) {
      case 0x80: {
        const unsigned v = u8();
        if (v > 5) fail("unsupported pickle protocol " + std::to_string(v));
        return false;
      }
      case 0x95:  // FRAME: framing only groups opcodes; the length is not needed
        take(8);
        return false;
      case 'c': {
        std::string module = line();
        std::string name = line();
        push(global(module, name));
        return false;
      }
      case 0x93: {
        Value* name = pop();
        Value* module = pop();
        expect(name, Kind::Str, "a global's name");
        expect(module, Kind::Str, "a global's module");
        push(global(module->s, name->s));
        return false;
      }
      case 'R':
      case 0x81: {
        Value* args = pop();
        Value* fn = pop();
        push(call(fn, args));
        return false;
      }
      case 'b': {
        Value* state = pop();
        build(top(), state);
        return false;
      }
      case '(':
        marks_.push_back(stack_.size());
        return false;
      case '}':
        push(make(Kind::Dict));
        return false;
      case ']':
        push(make(Kind::List));
        return false;
      case ')':
        push(make(Kind::Tuple));
        return false;
      case 0x85:
      case 0x86:
      case 0x87: {
        const std::size_t n = op_ - 0x84u;
        std::vector<Value*> items(n);
        for (std::size_t k = n; k-- > 0;) items[k] = pop();
        push(make_tuple(std::move(items)));
        return false;
      }
      case 't':
        push(make_tuple(pop_mark()));
        return false;
      case 'l': {
        Value* v = make(Kind::List);
        v->items = pop_mark();
        push(v);
        return false;
      }
      case 'd':
      case 'u': {
        std::vector<Value*> items = pop_mark();
        if (items.size() % 2) fail("odd number of items for " + op_text());
        Value* d = op_ == 'd' ? make(Kind::Dict) : expect(top(), Kind::Dict, "a dict");
        for (std::size_t k = 0; k < items.size(); k += 2) dict_set(d, items[k], items[k + 1]);
        if (op_ == 'd') push(d);
        return false;
      }
      case 's': {
        Value* value = pop();
        Value* key = pop();
        dict_set(expect(top(), Kind::Dict, "a dict"), key, value);
        return false;
      }
      case 'a': {
        Value* value = pop();
        expect(top(), Kind::List, "a list")->items.push_back(value);
        return false;
      }
      case 'e': {
        std::vector<Value*> items = pop_mark();
        Value* list = expect(top(), Kind::List, "a list");
        list->items.insert(list->items.end(), items.begin(), items.end());
        return false;
      }
      case 0x8f:
        push(make(Kind::Set));
        return false;
      case 0x90: {
        std::vector<Value*> items = pop_mark();
        Value* set = expect(top(), Kind::Set, "a set");
        set->items.insert(set->items.end(), items.begin(), items.end());
        return false;
      }
      case 0x91: {
        Value* v = make(Kind::Set);
        v->items = pop_mark();
        push(v);
        return false;
      }
      case 'q':
        memo_put(u8());
        return false;
      case 'r':
        memo_put(u32());
        return false;
      case 0x94:
        memo_put(memo_.size());
        return false;
      case 'h':
        memo_get(u8());
        return false;
      case 'j':
        memo_get(u32());
        return false;
      case 'J':
        push(make_int(static_cast<std::int32_t>(u32())));
        return false;
      case 'K':
        push(make_int(u8()));
        return false;
      case 'M':
        push(make_int(u16()));
        return false;
      case 0x8a: {
        const std::uint64_t n = u8();
        push(make_long(n));
        return false;
      }
      case 0x8b: {
        const auto n = static_cast<std::int32_t>(u32());
        if (n < 0) fail("negative LONG4 length");
        push(make_long(static_cast<std::uint64_t>(n)));
        return false;
      }
      case 'X': {
        const std::uint64_t n = u32();
        push(make_str(Kind::Str, n));
        return false;
      }
      case 0x8c: {
        const std::uint64_t n = u8();
        push(make_str(Kind::Str, n));
        return false;
      }
      case 0x8d: {
        const std::uint64_t n = u64();
        push(make_str(Kind::Str, n));
        return false;
      }
      case 'T': {
        // Python 2 str: keys of old torchvision files; torch.load decodes them as text.
        const auto n = static_cast<std::int32_t>(u32());
        if (n < 0) fail("negative BINSTRING length");
        push(make_str(Kind::Str, static_cast<std::uint64_t>(n)));
        return false;
      }
      case 'U': {
        const std::uint64_t n = u8();
        push(make_str(Kind::Str, n));
        return false;
      }
      case 'B': {
        const std::uint64_t n = u32();
        push(make_str(Kind::Bytes, n));
        return false;
      }
      case 'C': {
        const std::uint64_t n = u8();
        push(make_str(Kind::Bytes, n));
        return false;
      }
      case 0x8e:
      case 0x96: {
        const std::uint64_t n = u64();
        push(make_str(Kind::Bytes, n));
        return false;
      }
      case 'N':
        push(make(Kind::None));
        return false;
      case 0x88:
      case 0x89: {
        Value* v = make(Kind::Bool);
        v->flag = op_ == 0x88;
        push(v);
        return false;
      }
      case 'G': {
        const std::uint64_t be = u64();
        const std::uint64_t bits = __builtin_bswap64(be);
        Value* v = make(Kind::Float);
        std::memcpy(&v->f, &bits, sizeof bits);
        push(v);
        return false;
      }
      case 'Q': {
        Value* pid = pop();
        if (!persistent_load_) fail("persistent id in a pickle that may not have one");
        push(persistent_load_(pid, op_pos_));
        return false;
      }
      case '0':
        pop();
        return false;
      case '1':
        pop_mark();
        return false;
      case '2':
        push(top());
        return false;
      case '.':
        result_ = pop();
        return true;
      default:
        fail("unsupported pickle opcode " + op_text());
    }
  }

  const Source& src_;
  Arena& arena_;
  std::string_view data_;
  std::string label_;
  PersistentLoad persistent_load_;
  Tables& tables_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  unsigned op_ = 0;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value*> memo_;
  Value* result_ = nullptr;
};

/// persistent_load for both containers: ('storage', StorageType, key, location, numel[,
/// view_metadata]). Legacy files add view_metadata, None or (view_key, offset, view_numel).
Value* load_storage(const Source& src, Arena& arena, Tables& tables, const std::string& label,
                    const Value* pid, std::size_t at) {
  auto bad = [&](const std::string& why) -> Value* {
    src.fail("unsupported persistent id in " + label + " at byte " + std::to_string(at) + ": " +
             why);
  };
  if (pid->kind != Kind::Tuple) return bad(describe(pid) + " instead of a tuple");
  const auto& t = pid->items;
  if (t.empty() || t[0]->kind != Kind::Str || t[0]->s != "storage")
    return bad("not a ('storage', ...) tuple");
  if (t.size() != 5 && t.size() != 6)
    return bad("a storage tuple of " + std::to_string(t.size()) + " items");
  if (t[1]->kind != Kind::Global) return bad("storage type is " + describe(t[1]));
  const auto dtype = storage_dtype(t[1]->s);
  if (!dtype) return bad("storage type " + t[1]->s);
  if (t[2]->kind != Kind::Str) return bad("storage key is " + describe(t[2]));
  if (t[4]->kind != Kind::Int || t[4]->i < 0) return bad("storage size is " + describe(t[4]));
  const std::string& key = t[2]->s;
  auto it = tables.by_key.find(key);
  if (it == tables.by_key.end()) {
    StorageInfo info{key, *dtype, c10::elementSize(*dtype), t[4]->i, {}, false};
    it = tables.by_key.emplace(key, tables.storages.size()).first;
    tables.storages.push_back(std::move(info));
  } else {
    const StorageInfo& info = tables.storages[it->second];
    if (info.dtype != *dtype || info.numel != t[4]->i)
      return bad("storage " + quote(key) + " is used with two different types or sizes");
  }
  Value* v = arena.make(Kind::Storage);
  v->i = static_cast<std::int64_t>(it->second);
  if (t.size() == 6 && t[5]->kind != Kind::None) {
    const Value* view = t[5];
    if (view->kind != Kind::Tuple || view->items.size() != 3 || view->items[1]->kind != Kind::Int ||
        view->items[2]->kind != Kind::Int)
      return bad("storage view metadata is " + describe(view));
    v->view_base = view->items[1]->i;
    v->view_numel = view->items[2]->i;
    if (v->view_base < 0 || v->view_numel < 0 || v->view_base > t[4]->i ||
        v->view_numel > t[4]->i - v->view_base)
      return bad("storage view [" + std::to_string(v->view_base) + ", +" +
                 std::to_string(v->view_numel) + ") outside its storage of " +
                 std::to_string(t[4]->i) + " elements");
  }
  return v;
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

// ---------------------------------------------------------------- zip container

struct ZipRecord {
  std::string_view data;
  std::uint32_t crc;
};

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                        kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;

std::unordered_map<std::string, ZipRecord> read_zip(const Source& src, std::string_view z,
                                                    std::vector<std::string>& order) {
  const std::size_t n = z.size();
  auto corrupt = [&](const std::string& why) { src.fail("corrupt zip archive: " + why); };
  // End of central directory: the last 22 bytes plus a comment of at most 64 KiB.
  std::size_t eocd = std::string_view::npos;
  if (n >= 22) {
    const std::size_t lowest = n - 22 > 65535 ? n - 22 - 65535 : 0;
    for (std::size_t p = n - 22 + 1; p-- > lowest;) {
      if (le32(z.data() + p) == kEndSig && p + 22 + le16(z.data() + p + 20) == n) {
        eocd = p;
        break;
      }
    }
  }
  if (eocd == std::string_view::npos)
    src.truncated(
        "zip archive without its end-of-central-directory record (the file was cut "
        "short or is damaged)");
  const char* e = z.data() + eocd;
  std::uint64_t entries = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  std::uint64_t cd_end_limit = eocd;
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le32(z.data() + eocd - 20) != kLocator64Sig)
      corrupt("zip64 values without a zip64 locator");
    const std::uint64_t e64 = le64(z.data() + eocd - 20 + 8);
    if (e64 > eocd - 20 || eocd - 20 - e64 < 56 || le32(z.data() + e64) != kEnd64Sig)
      corrupt("bad zip64 end-of-central-directory record");
    const char* r = z.data() + e64;
    entries = le64(r + 32);
    cd_size = le64(r + 40);
    cd_offset = le64(r + 48);
    cd_end_limit = e64;
  }
  if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset)
    corrupt("central directory outside the file");
  if (entries > cd_size / 46) corrupt("more entries than the central directory can hold");

  std::unordered_map<std::string, ZipRecord> records;
  std::size_t p = static_cast<std::size_t>(cd_offset);
  const std::size_t cd_end = static_cast<std::size_t>(cd_offset + cd_size);
  for (std::uint64_t k = 0; k < entries; ++k) {
    if (cd_end - p < 46 || le32(z.data() + p) != kCentralSig)
      corrupt("bad central directory entry " + std::to_string(k));
    const char* c = z.data() + p;
    const unsigned flags = le16(c + 8), method = le16(c + 10);
    const std::uint32_t crc = le32(c + 16);
    std::uint64_t csize = le32(c + 20), usize = le32(c + 24), offset = le32(c + 42);
    const std::size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      corrupt("central directory entry " + std::to_string(k) + " runs past the directory");
    std::string name(c + 46, name_len);
    // Zip64 extended information: 64-bit values for the fields stored as 0xFFFFFFFF.
    const char* x = c + 46 + name_len;
    for (std::size_t q = 0; q + 4 <= extra_len;) {
      const unsigned id = le16(x + q), len = le16(x + q + 2);
      if (q + 4 + len > extra_len) corrupt("bad extra field in " + quote(name));
      if (id == 1) {
        std::size_t f = q + 4;
        for (std::uint64_t* field : {&usize, &csize, &offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (f + 8 > q + 4 + len) corrupt("short zip64 field in " + quote(name));
          *field = le64(x + f);
          f += 8;
        }
      }
      q += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    if (flags & 1) src.fail("zip record " + quote(name) + " is encrypted");
    if (method != 0)
      src.fail("zip record " + quote(name) + " is compressed (method " + std::to_string(method) +
               "); torch.save writes stored records only");
    if (csize != usize) corrupt("stored record " + quote(name) + " with two sizes");
    if (offset > n || n - offset < 30)
      src.truncated("zip record " + quote(name) + " lies past the end of the file");
    const char* l = z.data() + offset;
    if (le32(l) != kLocalSig) corrupt("bad local header for " + quote(name));
    const std::uint64_t data_offset = offset + 30 + le16(l + 26) + le16(l + 28);
    if (data_offset > n || n - data_offset < usize)
      src.truncated("zip record " + quote(name) + " lies past the end of the file");
    if (!records.count(name)) order.push_back(name);
    records[name] = {
        z.substr(static_cast<std::size_t>(data_offset), static_cast<std::size_t>(usize)), crc};
  }
  return records;
}

std::string_view checked(const Source& src, const std::string& name, const ZipRecord& r) {
  if (crc32(r.data.data(), r.data.size()) != r.crc)
    src.fail("zip record " + quote(name) + " fails its CRC-32 check (the file is damaged)");
  return r.data;
}

PthFile read_zip_pth(const Source& src, std::string_view bytes, std::uint64_t max_bytes) {
  std::vector<std::string> order;
  const auto records = read_zip(src, bytes, order);
  std::string prefix;
  for (const std::string& name : order) {
    const std::size_t slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = name.substr(0, slash);
      break;
    }
  }
  if (prefix.empty())
    src.fail("not a PyTorch .pth file: a zip archive without a <name>/data.pkl record");
  if (const auto it = records.find(prefix + "/byteorder"); it != records.end()) {
    if (checked(src, it->first, it->second) != "little")
      src.fail("big-endian torch files are not supported");
  }
  const std::string pkl_name = prefix + "/data.pkl";
  const std::string_view pkl = checked(src, pkl_name, records.at(pkl_name));

  Arena arena;
  Tables tables;
  Unpickler unpickler(
      src, arena, pkl, pkl_name,
      [&](const Value* pid, std::size_t at) {
        return load_storage(src, arena, tables, pkl_name, pid, at);
      },
      tables);
  const Value* dict = select_state_dict(src, unpickler.load(0));

  for (StorageInfo& st : tables.storages) {
    const std::string name = prefix + "/data/" + st.key;
    const auto it = records.find(name);
    if (it == records.end()) src.fail("storage record " + quote(name) + " is missing");
    const std::string_view data = checked(src, name, it->second);
    if (data.size() / st.elsize < static_cast<std::uint64_t>(st.numel))
      src.fail("storage record " + quote(name) + " holds " + std::to_string(data.size()) +
               " bytes, but data.pkl says " + std::to_string(st.numel) + " elements of " +
               std::to_string(st.elsize) + " bytes");
    st.bytes = data;
    st.has_bytes = true;
  }
  return {PthFormat::Zip, collect(src, tables, dict, max_bytes)};
}

// ---------------------------------------------------------------- legacy stream

/// pickle.dumps(0x1950a86a20f9469cfc6c): torch's magic number as LONG1's little-endian bytes.
constexpr std::string_view kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);

PthFile read_legacy_pth(const Source& src, std::string_view bytes, std::uint64_t max_bytes) {
  Arena arena;
  Tables tables;
  std::size_t pos = 0;
  auto next = [&](const std::string& what, PersistentLoad load) -> Value* {
    if (pos >= bytes.size())
      src.truncated("the file ends at byte " + std::to_string(pos) + ", before " + what);
    Unpickler u(src, arena, bytes, what, std::move(load), tables);
    Value* v = u.load(pos);
    pos = u.end();
    return v;
  };

  Value* magic = nullptr;
  try {
    magic = next("the magic-number pickle", nullptr);
  } catch (const ParseError& e) {
    if (e.truncated()) throw;
    src.fail(std::string("not a PyTorch .pth file: a pickle without torch's magic number (") +
             e.what() + ")");
  }
  if (magic->kind != Kind::BigInt || magic->s != kMagic)
    src.fail("not a PyTorch .pth file: a pickle of " + describe(magic) +
             " instead of torch's magic number");
  const Value* protocol = next("the protocol-version pickle", nullptr);
  if (protocol->kind != Kind::Int || protocol->i != 1001)
    src.fail("unsupported legacy torch protocol version: " + describe(protocol) +
             " (expected 1001)");
  const Value* sys_info = next("the sys_info pickle", nullptr);
  if (sys_info->kind != Kind::Dict) src.fail("sys_info is " + describe(sys_info) + ", not a dict");
  if (const Value* le = dict_get(sys_info, "little_endian");
      le && !(le->kind == Kind::Bool && le->flag))
    src.fail("written on a big-endian machine, which is not supported");

  const std::string main_label = "the main pickle";
  const Value* top = next(main_label, [&](const Value* pid, std::size_t at) {
    return load_storage(src, arena, tables, main_label, pid, at);
  });
  const Value* dict = select_state_dict(src, top);

  const Value* keys = next("the storage-key pickle", nullptr);
  if (keys->kind != Kind::List)
    src.fail("the storage-key pickle holds " + describe(keys) + ", not a list");
  for (std::size_t k = 0; k < keys->items.size(); ++k) {
    const Value* key = keys->items[k];
    if (key->kind != Kind::Str) src.fail("storage key " + describe(key) + " is not a string");
    const auto it = tables.by_key.find(key->s);
    if (it == tables.by_key.end())
      src.fail("storage " + quote(key->s) + " is listed but no tensor uses it");
    StorageInfo& st = tables.storages[it->second];
    const std::string label = "storage " + quote(key->s) + " (" + std::to_string(k + 1) + " of " +
                              std::to_string(keys->items.size()) + ")";
    if (bytes.size() - pos < 8)
      src.truncated("the file ends at byte " + std::to_string(bytes.size()) + " inside " + label +
                    ", whose 8-byte element count starts at byte " + std::to_string(pos));
    const std::uint64_t count = le64(bytes.data() + pos);
    pos += 8;
    if (count != static_cast<std::uint64_t>(st.numel))
      src.fail(label + " has " + std::to_string(count) + " elements, but the pickle says " +
               std::to_string(st.numel));
    const std::uint64_t left = bytes.size() - pos;
    if (left / st.elsize < count)
      src.truncated("the file ends at byte " + std::to_string(bytes.size()) + " inside " + label +
                    ", which needs " + std::to_string(count * st.elsize) + " bytes from byte " +
                    std::to_string(pos));
    st.bytes = bytes.substr(pos, static_cast<std::size_t>(count * st.elsize));
    st.has_bytes = true;
    pos += static_cast<std::size_t>(count * st.elsize);
  }
  for (const StorageInfo& st : tables.storages)
    if (!st.has_bytes) src.fail("storage " + quote(st.key) + " is used but missing from the file");
  return {PthFormat::Legacy, collect(src, tables, dict, max_bytes)};
}

// ---------------------------------------------------------------- dispatch

std::string first_bytes(std::string_view b) {
  std::string s;
  for (std::size_t i = 0; i < b.size() && i < 8; ++i)
    s += (i ? " " : "") + hex(static_cast<unsigned char>(b[i]));
  return s;
}

PthFile parse(std::string_view bytes, const std::string& name) {
  const Source src{name};
  try {
    if (bytes.empty()) src.fail("empty file (0 bytes): not a PyTorch .pth file");
    const std::uint64_t max_bytes =
        std::max<std::uint64_t>(1ull << 30, 4 * static_cast<std::uint64_t>(bytes.size()));
    constexpr std::string_view kZip("PK\x03\x04", 4);
    if (bytes.substr(0, 4) == kZip || bytes.substr(0, 4) == std::string_view("PK\x05\x06", 4))
      return read_zip_pth(src, bytes, max_bytes);
    if (static_cast<unsigned char>(bytes[0]) == 0x80) return read_legacy_pth(src, bytes, max_bytes);
    if (bytes.size() < 4 && kZip.substr(0, bytes.size()) == bytes)
      src.truncated("only " + std::to_string(bytes.size()) + " bytes of a zip archive");
    std::string kind;
    if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
      kind = ", a PNG image";
    else if (bytes.substr(0, 3) == std::string_view("\xff\xd8\xff", 3))
      kind = ", a JPEG image";
    else if (bytes.size() > 262 && bytes.substr(257, 5) == "ustar")
      kind = ", a tar archive (PyTorch's pre-0.1.10 format is not supported)";
    src.fail("not a PyTorch .pth file (it starts with bytes " + first_bytes(bytes) + kind +
             "; expected a zip archive or a pickle stream)");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Safety net: a LibTorch or allocation error still names the file.
    throw Error(location(name) + e.what());
  }
}

}  // namespace

PthFile read_pth(const fs::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (ec || !fs::exists(status))
    throw Error(location(name) +
                "cannot read: " + (ec ? ec.message() : std::string("no such file")));
  if (fs::is_directory(status)) throw Error(location(name) + "cannot read: it is a folder");
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw Error(location(name) + "cannot open: " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(location(name) + "cannot read its size");
  in.seekg(0);
  // One pass into an uninitialised buffer (operator new aligns it for any element type).
  const auto n = static_cast<std::size_t>(size);
  std::unique_ptr<char[]> buffer(new char[n ? n : 1]);
  if (!in.read(buffer.get(), static_cast<std::streamsize>(n)) ||
      in.gcount() != static_cast<std::streamsize>(n))
    throw Error(location(name) + "cannot read " + std::to_string(n) +
                " bytes: " + std::strerror(errno));
  return parse(std::string_view(buffer.get(), n), name);
}

PthFile read_pth_bytes(const std::string& bytes, const std::string& name) {
  return parse(bytes, name);
}

}  // namespace mura::weights
