#include "mura/weights/pth_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "../test_util.h"
#include "mura/util/error.h"

namespace mura::weights {
namespace {
namespace fs = std::filesystem;

// ---------------------------------------------------------------- helpers

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using test::contains;

/// The message of the mura::Error that reading `bytes` throws (test::error_message: a text
/// that contains none of the expected fragments when it throws nothing or something else).
std::string error_reading(const std::string& bytes, const std::string& name = "fixture.pth") {
  return test::error_message([&] { read_pth_bytes(bytes, name); });
}

std::string le32(std::uint32_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 4);
}
std::string le16(std::uint16_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 2);
}
std::string le64(std::uint64_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 8);
}

// ---------------------------------------------------------------- hand-built torch files
// Small files laid out exactly as torch.save writes them (see the disassembly of a real
// one in write_state_dicts.py's fixtures), so the error tests need no Python.

/// Builds a pickle opcode by opcode, protocol 2.
class Pickle {
 public:
  Pickle() { op(0x80).op(2); }
  Pickle& op(unsigned char c) {
    bytes += static_cast<char>(c);
    return *this;
  }
  Pickle& raw(const std::string& s) {
    bytes += s;
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  Pickle& str(const std::string& s) {
    return op('X').raw(le32(static_cast<std::uint32_t>(s.size())) + s);
  }
  Pickle& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<unsigned char>(v));
    if (v >= 0 && v < 65536) return op('M').raw(le16(static_cast<std::uint16_t>(v)));
    return op(0x8a).op(8).raw(le64(static_cast<std::uint64_t>(v)));
  }
  Pickle& ints(const std::vector<std::int64_t>& v) {
    op('(');
    for (const auto i : v) integer(i);
    return op('t');
  }
  std::string bytes;
};

struct TensorSpec {
  std::string name;
  std::string storage_type;  // "FloatStorage"
  std::string key;
  std::int64_t numel;
  std::int64_t offset;
  std::vector<std::int64_t> sizes, strides;
};

/// `_rebuild_tensor_v2((persistent id), offset, size, stride, False, OrderedDict())`.
void put_tensor(Pickle& p, const TensorSpec& t, bool legacy) {
  p.global("torch._utils", "_rebuild_tensor_v2").op('(').op('(').str("storage");
  p.global("torch", t.storage_type).str(t.key).str("cpu").integer(t.numel);
  if (legacy) p.op('N');  // view_metadata
  p.op('t').op('Q').integer(t.offset).ints(t.sizes).ints(t.strides).op(0x89);
  p.global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
}

/// OrderedDict of tensors with `_metadata` set through BUILD, as state_dict() pickles.
std::string state_dict_pickle(const std::vector<TensorSpec>& tensors, bool legacy) {
  Pickle p;
  p.global("collections", "OrderedDict").op(')').op('R').op('(');
  for (const auto& t : tensors) {
    p.str(t.name);
    put_tensor(p, t, legacy);
  }
  p.op('u').op('}').str("_metadata").op('}').str("").op('}').str("version").integer(1);
  p.op('s').op('s').op('s').op('b').op('.');
  return p.bytes;
}

std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char ch : s) {
    c ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return ~c;
}

/// A zip archive of stored records (method 0), as torch's miniz writer produces.
/// With `zip64`, sizes and offsets go to zip64 extra fields and a zip64 end record, as
/// torch's writer does for archives over 4 GiB.
std::string zip(const std::vector<std::pair<std::string, std::string>>& records,
                std::uint16_t method = 0, bool zip64 = false) {
  std::string out, central;
  const std::uint32_t ff = 0xFFFFFFFFu;
  for (const auto& [name, data] : records) {
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(data.size());
    const auto name_len = static_cast<std::uint16_t>(name.size());
    const std::uint32_t crc = crc32(data);
    out += le32(0x04034b50) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc) + le32(size) +
           le32(size) + le16(name_len) + le16(0) + name + data;
    const std::string extra =
        zip64 ? le16(1) + le16(24) + le64(size) + le64(size) + le64(offset) : std::string();
    central += le32(0x02014b50) + le16(45) + le16(45) + le16(0) + le16(method) + le32(0) +
               le32(crc) + le32(zip64 ? ff : size) + le32(zip64 ? ff : size) + le16(name_len) +
               le16(static_cast<std::uint16_t>(extra.size())) + le16(0) + le16(0) + le16(0) +
               le32(0) + le32(zip64 ? ff : offset) + name + extra;
  }
  const auto n = static_cast<std::uint16_t>(records.size());
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  const auto cd_size = static_cast<std::uint32_t>(central.size());
  out += central;
  if (zip64) {
    const auto end64 = static_cast<std::uint64_t>(out.size());
    out += le32(0x06064b50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0) + le64(n) +
           le64(n) + le64(cd_size) + le64(cd_offset);
    out += le32(0x07064b50) + le32(0) + le64(end64) + le32(1);
    return out + le32(0x06054b50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(ff) +
           le32(ff) + le16(0);
  }
  return out + le32(0x06054b50) + le16(0) + le16(0) + le16(n) + le16(n) + le32(cd_size) +
         le32(cd_offset) + le16(0);
}

/// Legacy stream: magic, 1001, sys_info, the object, the keys, then each storage.
std::string legacy(const std::string& main_pickle,
                   const std::vector<std::pair<std::string, std::string>>& storages,
                   const std::vector<std::size_t>& element_sizes, bool little_endian = true) {
  std::string out = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  out += Pickle().integer(1001).op('.').bytes;
  Pickle info;
  info.op('}').op('(').str("protocol_version").integer(1001).str("little_endian");
  info.op(little_endian ? 0x88 : 0x89).str("type_sizes").op('}').op('(');
  info.str("short").integer(2).str("int").integer(4).str("long").integer(4).op('u').op('u').op('.');
  out += info.bytes + main_pickle;
  Pickle keys;
  keys.op(']').op('(');
  for (const auto& s : storages) keys.str(s.first);
  out += keys.op('e').op('.').bytes;
  for (std::size_t k = 0; k < storages.size(); ++k)
    out += le64(storages[k].second.size() / element_sizes[k]) + storages[k].second;
  return out;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

/// Storage "0": 12 floats 0, 0.5, ..., 5.5; storage "1": one int64 5.
std::string float_storage() {
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[static_cast<std::size_t>(i)] = 0.5f * static_cast<float>(i);
  return raw(v);
}
std::string long_storage() {
  return raw(std::vector<std::int64_t>{5});
}

/// {'a': t (3x4), 'b': t.t()[1:] (3x3 view, offset 1, strides (1, 4)), 'n': tensor(5)}.
std::vector<TensorSpec> small_specs() {
  return {{"a", "FloatStorage", "0", 12, 0, {3, 4}, {4, 1}},
          {"b", "FloatStorage", "0", 12, 1, {3, 3}, {1, 4}},
          {"n", "LongStorage", "1", 1, 0, {}, {}}};
}

std::string small_zip(const std::string& pickle) {
  return zip({{"archive/data.pkl", pickle},
              {"archive/data/0", float_storage()},
              {"archive/data/1", long_storage()},
              {"archive/version", "3\n"}});
}
std::string small_zip() {
  return small_zip(state_dict_pickle(small_specs(), false));
}

std::string small_legacy(const std::string& pickle, bool little_endian = true) {
  return legacy(pickle, {{"0", float_storage()}, {"1", long_storage()}}, {4, 8}, little_endian);
}
std::string small_legacy() {
  return small_legacy(state_dict_pickle(small_specs(), true));
}

void expect_small_state_dict(const PthFile& f) {
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[0].name, "a");
  EXPECT_EQ(f.tensors[1].name, "b");
  EXPECT_EQ(f.tensors[2].name, "n");
  const torch::Tensor base = torch::arange(12, torch::kFloat).mul(0.5).reshape({3, 4});
  EXPECT_TRUE(torch::equal(f.tensors[0].tensor, base));
  EXPECT_TRUE(torch::equal(f.tensors[1].tensor, base.t().slice(0, 1)));
  EXPECT_EQ(f.tensors[2].tensor.dim(), 0);
  EXPECT_EQ(f.tensors[2].tensor.scalar_type(), torch::kLong);
  EXPECT_EQ(f.tensors[2].tensor.item<std::int64_t>(), 5);
  for (const auto& t : f.tensors) EXPECT_TRUE(t.tensor.is_contiguous()) << t.name;
}

// ---------------------------------------------------------------- PthReader: errors

TEST(PthReader, ReadsHandBuiltZipAndLegacyFiles) {
  const PthFile z = read_pth_bytes(small_zip(), "small_zip.pth");
  EXPECT_EQ(z.format, PthFormat::Zip);
  expect_small_state_dict(z);
  const PthFile l = read_pth_bytes(small_legacy(), "small_legacy.pth");
  EXPECT_EQ(l.format, PthFormat::Legacy);
  expect_small_state_dict(l);
  // Tensors own their memory: writing to one leaves the other view of storage "0" alone.
  z.tensors[0].tensor.fill_(-1);
  EXPECT_FLOAT_EQ(z.tensors[1].tensor[0][0].item<float>(), 0.5f);
}

TEST(PthReader, ReadsZip64Archives) {
  const std::string bytes = zip({{"archive/data.pkl", state_dict_pickle(small_specs(), false)},
                                 {"archive/data/0", float_storage()},
                                 {"archive/data/1", long_storage()},
                                 {"archive/version", "3\n"}},
                                0, true);
  expect_small_state_dict(read_pth_bytes(bytes, "zip64.pth"));
  for (std::size_t n = 1; n < bytes.size(); ++n)
    EXPECT_TRUE(contains(error_reading(bytes.substr(0, n)), "truncated")) << "cut at " << n;
}

/// PyTorch 0.3 / Python 2 era legacy file: `_rebuild_tensor` (no _v2), SHORT_BINSTRING
/// strings, a CUDA storage type, and a storage view (view_metadata) into a root storage.
std::string pytorch03_legacy() {
  auto s = [](Pickle& p, const std::string& v) -> Pickle& {
    return p.op('U').op(static_cast<unsigned char>(v.size())).raw(v);
  };
  Pickle p;
  p.global("collections", "OrderedDict").op(')').op('R').op('(');
  // 'view': root[2:8] as storage view '101', then offset 1, size (2, 2), stride (1, 2).
  s(p, "view");
  p.global("torch._utils", "_rebuild_tensor").op('(').op('(');
  s(p, "storage").global("torch.cuda", "FloatStorage");
  s(p, "100");
  s(p, "cuda:0").integer(12).op('(');
  s(p, "101").integer(2).integer(6).op('t').op('t').op('Q');
  p.integer(1).ints({2, 2}).ints({1, 2}).op('t').op('R');
  // 'whole': the root storage itself.
  s(p, "whole");
  p.global("torch._utils", "_rebuild_tensor").op('(').op('(');
  s(p, "storage").global("torch.cuda", "FloatStorage");
  s(p, "100");
  s(p, "cuda:0").integer(12).op('N').op('t').op('Q');
  p.integer(0).ints({12}).ints({1}).op('t').op('R');
  p.op('u').op('.');
  return legacy(p.bytes, {{"100", float_storage()}}, {4});
}

TEST(PthReader, ReadsPyTorch03LegacyFilesWithStorageViews) {
  const PthFile f = read_pth_bytes(pytorch03_legacy(), "old.pth");
  EXPECT_EQ(f.format, PthFormat::Legacy);
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].name, "view");
  // view = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]; element (i, j) is view[1 + i + 2j].
  EXPECT_TRUE(
      torch::equal(f.tensors[0].tensor, torch::tensor({1.5f, 2.5f, 2.0f, 3.0f}).reshape({2, 2})));
  EXPECT_TRUE(torch::equal(f.tensors[1].tensor, torch::arange(12, torch::kFloat).mul(0.5)));
  EXPECT_TRUE(f.tensors[1].tensor.device().is_cpu());
}

TEST(PthReader, ReadsTensorsWrappedInRebuildFromTypeV2) {
  // PyTorch 2.x wraps tensors that carry Python state: _rebuild_from_type_v2(func, type,
  // args, state). Nested 100,000 deep here, which must not exhaust the stack either.
  Pickle p;
  p.global("torch._tensor", "_rebuild_from_type_v2").op('q').op(0);
  p.global("torch", "Tensor").op('q').op(1).op('0').op('0');
  p.global("collections", "OrderedDict").op(')').op('R').op('(').str("a");
  // args of _rebuild_tensor_v2, as put_tensor writes them, kept in memo 2.
  Pickle t;
  put_tensor(t, small_specs()[0], false);
  const std::string call = t.bytes.substr(2);    // GLOBAL ... ( ... t R
  const std::size_t args_end = call.size() - 1;  // before the final REDUCE
  const std::size_t global_end = call.find("\n", call.find("\n") + 1) + 1;
  p.raw(call.substr(0, global_end)).op('q').op(3).op('0');  // memo 3: _rebuild_tensor_v2
  p.raw(call.substr(global_end, args_end - global_end)).op('q').op(2).op('0');
  p.op('(').op('h').op(3).op('h').op(1).op('h').op(2).op('N').op('t');  // level 1
  for (int level = 2; level <= 100000; ++level)
    p.op('q').op(4).op('0').op('(').op('h').op(0).op('h').op(1).op('h').op(4).op('N').op('t');
  p.op('q').op(4).op('0').op('h').op(0).op('h').op(4).op('R').op('u').op('.');
  const PthFile f = read_pth_bytes(small_zip(p.bytes), "wrapped.pth");
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_TRUE(
      torch::equal(f.tensors[0].tensor, torch::arange(12, torch::kFloat).mul(0.5).reshape({3, 4})));

  // A list nested a million deep is just "not a dict".
  Pickle deep;
  for (int k = 0; k < 1000000; ++k) deep.op(']');
  for (int k = 1; k < 1000000; ++k) deep.op('a');
  deep.op('.');
  EXPECT_TRUE(contains(error_reading(small_zip(deep.bytes)), "a list of 1, not a dict"));
}

TEST(PthReader, MissingFileOrFolderIsNamed) {
  test::TempDir dir;
  const fs::path missing = dir / "nope.pth";
  EXPECT_ERROR_CONTAINS(read_pth(missing), missing.string(), "cannot read");
  EXPECT_ERROR_CONTAINS(read_pth(dir.path()), dir.path().string(), "folder");
}

TEST(PthReader, PngTextEmptyAndOtherFilesAreNotPthFiles) {
  test::TempDir dir;
  const fs::path png = dir / "xray.png";
  test::write_png(png);
  const fs::path renamed = dir / "model.pth";
  fs::copy_file(png, renamed);
  for (const fs::path& f : {png, renamed})
    EXPECT_ERROR_CONTAINS(read_pth(f), f.string(), "not a PyTorch .pth file", "PNG");
  const fs::path text = dir / "notes.pth";
  test::write_text(text, "layer1.0.conv1.weight 1 2 3\n");
  EXPECT_ERROR_CONTAINS(read_pth(text), text.string() + ": not a PyTorch .pth file");
  EXPECT_TRUE(contains(error_reading(""), "empty file"));
  EXPECT_TRUE(contains(error_reading(""), "not a PyTorch .pth file"));
  // A pickle that is not torch's: pickle.dumps(5, protocol=2).
  EXPECT_TRUE(contains(error_reading(std::string("\x80\x02K\x05.", 5)), "magic number"));
  // A zip that is not torch's.
  const std::string other_zip = zip({{"readme.txt", "hello"}});
  EXPECT_TRUE(contains(error_reading(other_zip), "not a PyTorch .pth file"))
      << error_reading(other_zip);
}

TEST(PthReader, TruncatedZipSaysTruncatedAtEveryOffset) {
  const std::string full = small_zip();
  for (std::size_t n = 1; n < full.size(); ++n) {
    const std::string message = error_reading(full.substr(0, n), "cut.pth");
    EXPECT_TRUE(contains(message, "cut.pth: truncated")) << "cut at " << n << ": " << message;
  }
}

TEST(PthReader, TruncatedLegacySaysTruncatedAtEveryOffset) {
  const std::string full = small_legacy();
  const std::size_t storages_start = full.size() - (8 + 48) - (8 + 8);
  for (std::size_t n = 1; n < full.size(); ++n) {
    const std::string message = error_reading(full.substr(0, n), "cut.pth");
    EXPECT_TRUE(contains(message, "cut.pth: truncated")) << "cut at " << n << ": " << message;
    if (n >= storages_start) {
      EXPECT_TRUE(contains(message, "inside storage")) << "cut at " << n << ": " << message;
    }
  }
}

TEST(PthReader, DamagedBytesGiveAnErrorNeverACrash) {
  // Every byte of both small files, flipped or zeroed: each read either works or throws a
  // mura::Error (no other exception, no crash; run under ASan to check memory too).
  for (const std::string& good : {small_zip(), small_legacy()}) {
    for (std::size_t i = 0; i < good.size(); ++i) {
      for (const unsigned char mask : {0xFFu, 0x01u, 0x80u}) {
        std::string bad = good;
        bad[i] = static_cast<char>(static_cast<unsigned char>(bad[i]) ^ mask);
        try {
          read_pth_bytes(bad, "damaged.pth");
        } catch (const Error& e) {
          EXPECT_TRUE(contains(e.what(), "damaged.pth: ")) << e.what();
        } catch (const std::exception& e) {
          ADD_FAILURE() << "byte " << i << ": not a mura::Error: " << e.what();
        }
      }
    }
  }
}

TEST(PthReader, DamagedZipStorageFailsItsCrcCheck) {
  std::string bytes = small_zip();
  const std::size_t at = bytes.find(float_storage());
  ASSERT_NE(at, std::string::npos);
  bytes[at + 5] ^= 0x10;
  const std::string message = error_reading(bytes);
  EXPECT_TRUE(contains(message, "'archive/data/0' fails its CRC-32 check")) << message;
}

TEST(PthReader, CompressedOrMissingZipRecordsAreNamed) {
  const std::string pickle = state_dict_pickle(small_specs(), false);
  const std::string deflated = zip({{"archive/data.pkl", pickle}}, 8);
  EXPECT_TRUE(contains(error_reading(deflated), "'archive/data.pkl' is compressed (method 8)"));
  const std::string missing =
      zip({{"archive/data.pkl", pickle}, {"archive/data/0", float_storage()}});
  EXPECT_TRUE(contains(error_reading(missing), "storage record 'archive/data/1' is missing"));
}

TEST(PthReader, PickleThatIsNotADictIsRejected) {
  // [tensor] instead of {name: tensor}.
  Pickle p;
  p.op(']').op('(');
  put_tensor(p, small_specs()[0], false);
  p.op('e').op('.');
  const std::string message = error_reading(small_zip(p.bytes));
  EXPECT_TRUE(contains(message, "a list of 1, not a dict of tensors")) << message;
}

TEST(PthReader, DictWithoutTensorsIsRejected) {
  const std::string empty = error_reading(small_zip(Pickle().op('}').op('.').bytes));
  EXPECT_TRUE(contains(empty, "holds no tensors")) << empty;
  Pickle epoch;
  epoch.op('}').str("epoch").integer(3).op('s').op('.');
  const std::string message = error_reading(small_legacy(epoch.bytes));
  EXPECT_TRUE(contains(message, "entry 'epoch' holds the int 3, not a tensor")) << message;
  EXPECT_TRUE(contains(message, "no 'state_dict'")) << message;
}

TEST(PthReader, NonTensorEntryInAStateDictIsNamed) {
  Pickle p;
  p.op('}').op('(').str("w");
  put_tensor(p, small_specs()[0], false);
  p.str("lr").op('G').raw(std::string("\x3f\xb9\x99\x99\x99\x99\x99\x9a", 8)).op('u').op('.');
  const std::string message = error_reading(small_zip(p.bytes));
  EXPECT_TRUE(contains(message, "entry 'lr' holds a float, not a tensor")) << message;
}

TEST(PthReader, UnknownGlobalIsRefusedByNameAndOffset) {
  // The classic: os.system('...') through REDUCE. It is never executed, just refused.
  Pickle p;
  p.global("posix", "system").str("echo hacked").op(0x85).op('R').op('.');
  const std::string message = error_reading(small_zip(p.bytes), "evil.pth");
  EXPECT_TRUE(contains(message, "evil.pth: refusing the pickle global 'posix.system'")) << message;
  EXPECT_TRUE(contains(message, "archive/data.pkl, byte 2")) << message;
  // Torch globals outside a state dict's needs are refused too.
  Pickle q;
  q.global("torch._utils", "_rebuild_qtensor").op('.');
  EXPECT_TRUE(contains(error_reading(small_legacy(q.bytes)), "'torch._utils._rebuild_qtensor'"));
}

TEST(PthReader, UnsupportedOpcodeIsNamedWithItsOffset) {
  std::string pickle = state_dict_pickle(small_specs(), false);
  // Protocol-0 INT ('I') in place of the dict's first MARK: not an opcode torch.save emits.
  const std::size_t at = pickle.find('(');
  pickle.replace(at, 1, "I1\n");
  const std::string message = error_reading(small_zip(pickle));
  EXPECT_TRUE(contains(message, "unsupported pickle opcode INT (0x49)")) << message;
  EXPECT_TRUE(contains(message, "byte " + std::to_string(at))) << message;
  std::string unknown = state_dict_pickle(small_specs(), true);
  unknown[2] = '\xff';
  const std::string message2 = error_reading(small_legacy(unknown));
  EXPECT_TRUE(contains(message2, "unsupported pickle opcode unknown (0xff)")) << message2;
}

TEST(PthReader, TensorOutsideItsStorageIsRejected) {
  auto specs = small_specs();
  specs[1].offset = 0;
  specs[1].sizes = {5, 3};  // t.t() has only 4 rows: a fifth reads element 12 of 12
  const std::string message = error_reading(small_zip(state_dict_pickle(specs, false)));
  EXPECT_TRUE(contains(message, "tensor 'b' (size [5, 3], stride [1, 4], offset 0)")) << message;
  EXPECT_TRUE(contains(message, "which holds 12 elements")) << message;
}

TEST(PthReader, ForgedHugeExpandedTensorIsRejected) {
  // A stride-0 tensor may exceed its storage legitimately, but not by terabytes.
  auto specs = small_specs();
  specs[0].sizes = {1 << 20, 1 << 20};
  specs[0].strides = {0, 0};
  const std::string message = error_reading(small_legacy(state_dict_pickle(specs, true)));
  EXPECT_TRUE(contains(message, "tensor 'a'")) << message;
  EXPECT_TRUE(contains(message, "would need 4398046511104 bytes")) << message;
}

TEST(PthReader, BigEndianLegacyFileIsRejected) {
  const std::string message =
      error_reading(small_legacy(state_dict_pickle(small_specs(), true), false));
  EXPECT_TRUE(contains(message, "big-endian")) << message;
}

// ---------------------------------------------------------------- PthReaderParity

/// One tensor of a reference written by tests/reference/write_state_dicts.py.
struct RefTensor {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

torch::ScalarType dtype_of(const std::string& name) {
  static const std::map<std::string, torch::ScalarType> kTypes{
      {"float32", torch::kFloat},
      {"float64", torch::kDouble},
      {"float16", torch::kHalf},
      {"bfloat16", torch::kBFloat16},
      {"int64", torch::kLong},
      {"int32", torch::kInt},
      {"int16", torch::kShort},
      {"int8", torch::kChar},
      {"uint8", torch::kByte},
      {"bool", torch::kBool},
      {"complex64", torch::kComplexFloat},
      {"complex128", torch::kComplexDouble}};
  const auto it = kTypes.find(name);
  if (it == kTypes.end()) throw std::runtime_error("unknown dtype in reference: " + name);
  return it->second;
}

/// Runs the Python oracle once for the whole suite.
class PthReaderParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto r =
        test::run_command("'" + std::string(MURA_PYTHON) + "' '" + std::string(MURA_SOURCE_DIR) +
                          "/tests/reference/write_state_dicts.py' '" + dir_->path().string() + "'");
    exit_code_ = r.exit_code;
    output_ = r.out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(exit_code_, 0) << "write_state_dicts.py failed (needs Debian's torch and "
                                "torchvision in "
                             << MURA_PYTHON << "):\n"
                             << output_;
  }

  static fs::path file(const std::string& name) { return dir_->path() / (name + ".pth"); }

  /// fixture name -> (format, reference name), from fixtures.txt.
  static std::map<std::string, std::pair<std::string, std::string>> fixtures() {
    std::map<std::string, std::pair<std::string, std::string>> out;
    std::ifstream in(dir_->path() / "fixtures.txt");
    std::string name, format, ref;
    while (in >> name >> format >> ref) out[name] = {format, ref};
    return out;
  }

  static std::vector<RefTensor> reference(const std::string& ref) {
    std::ifstream index(dir_->path() / (ref + ".ref.txt"));
    const std::string data = read_bytes(dir_->path() / (ref + ".ref.bin"));
    std::vector<RefTensor> out;
    std::string line;
    std::size_t at = 0;
    while (std::getline(index, line)) {
      std::istringstream fields(line);
      RefTensor t;
      std::string shape, nbytes;
      std::getline(fields, t.name, '\t');
      std::getline(fields, t.dtype, '\t');
      std::getline(fields, shape, '\t');
      std::getline(fields, nbytes, '\t');
      if (shape != "-") {
        std::istringstream sizes(shape);
        std::string s;
        while (std::getline(sizes, s, ',')) t.shape.push_back(std::stoll(s));
      }
      const std::size_t n = std::stoull(nbytes);
      t.bytes = data.substr(at, n);
      at += n;
      out.push_back(std::move(t));
    }
    EXPECT_EQ(at, data.size()) << ref;
    return out;
  }

  /// Reads NAME.pth and compares names, order, dtypes, shapes and every byte with Python.
  static void expect_matches(const std::string& name) {
    SCOPED_TRACE(name);
    const auto all = fixtures();
    const auto it = all.find(name);
    ASSERT_NE(it, all.end()) << "not written by the oracle";
    const std::vector<RefTensor> ref = reference(it->second.second);
    const PthFile f = read_pth(file(name));
    EXPECT_EQ(f.format, it->second.first == "zip" ? PthFormat::Zip : PthFormat::Legacy);
    ASSERT_EQ(f.tensors.size(), ref.size());
    for (std::size_t i = 0; i < ref.size(); ++i) {
      const auto& got = f.tensors[i];
      const auto& want = ref[i];
      EXPECT_EQ(got.name, want.name) << "entry " << i;
      EXPECT_EQ(got.tensor.scalar_type(), dtype_of(want.dtype)) << want.name;
      EXPECT_EQ(got.tensor.sizes().vec(), want.shape) << want.name;
      EXPECT_TRUE(got.tensor.device().is_cpu()) << want.name;
      ASSERT_TRUE(got.tensor.is_contiguous()) << want.name;
      ASSERT_EQ(got.tensor.nbytes(), want.bytes.size()) << want.name;
      EXPECT_TRUE(want.bytes.empty() ||
                  std::memcmp(got.tensor.data_ptr(), want.bytes.data(), want.bytes.size()) == 0)
          << want.name << " differs from Python's bytes";
    }
  }

  static test::TempDir* dir_;
  static int exit_code_;
  static std::string output_;
};

test::TempDir* PthReaderParity::dir_ = nullptr;
int PthReaderParity::exit_code_ = -1;
std::string PthReaderParity::output_;

TEST_F(PthReaderParity, ResNet18ZipMatchesPythonBitForBit) {
  expect_matches("resnet18_zip");
  const PthFile f = read_pth(file("resnet18_zip"));
  EXPECT_EQ(f.tensors.size(), 122u);  // 62 parameters + 60 BatchNorm buffers
  EXPECT_EQ(f.tensors.front().name, "conv1.weight");
  EXPECT_EQ(f.tensors.back().name, "fc.bias");
}

TEST_F(PthReaderParity, ResNet18LegacyMatchesPythonBitForBit) {
  expect_matches("resnet18_legacy");
}

TEST_F(PthReaderParity, Float16AndFloat64ResNet18Match) {
  expect_matches("resnet18_half_zip");
  expect_matches("resnet18_half_legacy");
  expect_matches("resnet18_double_legacy");
}

TEST_F(PthReaderParity, EveryStorageDtypeMatches) {
  expect_matches("dtypes_zip");
  expect_matches("dtypes_legacy");
}

TEST_F(PthReaderParity, ViewsIntoSharedStoragesMatchContiguousCopies) {
  // Offsets, transposed slices, stride 0, 0-dim and empty views of one storage.
  expect_matches("views_zip");
  expect_matches("views_legacy");
  const PthFile f = read_pth(file("views_zip"));
  for (std::size_t i = 0; i < f.tensors.size(); ++i)
    for (std::size_t j = i + 1; j < f.tensors.size(); ++j)
      if (f.tensors[i].tensor.numel() > 0 && f.tensors[j].tensor.numel() > 0) {
        EXPECT_NE(f.tensors[i].tensor.data_ptr(), f.tensors[j].tensor.data_ptr());
      }
}

TEST_F(PthReaderParity, PickleProtocol4Matches) {
  expect_matches("views_zip_protocol4");
  expect_matches("views_legacy_protocol4");
}

TEST_F(PthReaderParity, PlainDictOfParametersMatches) {
  expect_matches("plain_dict_zip");
  expect_matches("plain_dict_legacy");
}

TEST_F(PthReaderParity, CheckpointsYieldTheirInnerStateDict) {
  expect_matches("checkpoint_state_dict_zip");
  expect_matches("checkpoint_state_dict_legacy");
  expect_matches("checkpoint_model_state_dict_zip");
}

TEST_F(PthReaderParity, EveryOracleFileIsChecked) {
  // Guards against a fixture the script writes but no test above reads.
  for (const auto& [name, format_ref] : fixtures()) {
    if (name.rfind("resnet18", 0) == 0) continue;  // the big ones are checked above
    expect_matches(name);
  }
  EXPECT_EQ(fixtures().size(), 16u);
}

TEST_F(PthReaderParity, ReadFromMemoryMatchesReadFromFile) {
  const PthFile a = read_pth(file("views_legacy"));
  const PthFile b = read_pth_bytes(read_bytes(file("views_legacy")), "in-memory");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_TRUE(torch::equal(a.tensors[i].tensor, b.tensors[i].tensor)) << a.tensors[i].name;
  }
}

TEST_F(PthReaderParity, TruncatedTorchFilesSayTruncated) {
  // Small real files at every offset; ResNet-18 at offsets inside the pickles and storages.
  for (const std::string name : {"views_zip", "views_legacy", "views_legacy_protocol4"}) {
    const std::string full = read_bytes(file(name));
    for (std::size_t n = 1; n < full.size(); ++n) {
      const std::string message = error_reading(full.substr(0, n), name);
      ASSERT_TRUE(contains(message, name + ": truncated")) << "cut at " << n << ": " << message;
    }
  }
  for (const std::string name : {"resnet18_zip", "resnet18_legacy"}) {
    const std::string full = read_bytes(file(name));
    for (const std::size_t n :
         {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{5000}, full.size() / 3,
          full.size() / 2, full.size() - 100, full.size() - 8, full.size() - 1}) {
      const std::string message = error_reading(full.substr(0, n), name);
      EXPECT_TRUE(contains(message, name + ": truncated")) << "cut at " << n << ": " << message;
    }
  }
}

}  // namespace
}  // namespace mura::weights
