#include "mura/weights/unpickler.h"

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mura::weights::detail {
namespace {

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

}  // namespace

Unpickled unpickle(const Source& src, Arena& arena, std::string_view data, std::size_t start,
                   std::string label, PersistentLoad persistent_load, Tables& tables) {
  Unpickler u(src, arena, data, std::move(label), std::move(persistent_load), tables);
  Value* v = u.load(start);
  return {v, u.end()};
}

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

}  // namespace mura::weights::detail
