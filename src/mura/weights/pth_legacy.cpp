#include "mura/weights/pth_legacy.h"

#include <cstddef>
#include <string>
#include <utility>

#include "mura/weights/pickle_value.h"
#include "mura/weights/unpickler.h"

namespace mura::weights::detail {
namespace {

/// pickle.dumps(0x1950a86a20f9469cfc6c): torch's magic number as LONG1's little-endian bytes.
constexpr std::string_view kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);

}  // namespace

PthFile read_legacy_pth(const Source& src, std::string_view bytes, std::uint64_t max_bytes) {
  Arena arena;
  Tables tables;
  std::size_t pos = 0;
  auto next = [&](const std::string& what, PersistentLoad load) -> Value* {
    if (pos >= bytes.size())
      src.truncated("the file ends at byte " + std::to_string(pos) + ", before " + what);
    const Unpickled u = unpickle(src, arena, bytes, pos, what, std::move(load), tables);
    pos = u.end;
    return u.value;
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

}  // namespace mura::weights::detail
