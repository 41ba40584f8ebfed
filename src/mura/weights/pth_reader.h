#pragma once
/// Native reader for files written by Python's `torch.save(model.state_dict(), f)`.
///
/// No Python runs: a small pickle VM interprets the pickle and a bounds-checked parser reads
/// the container. LibTorch's own `torch::pickle_load` cannot read these files (a state dict is
/// a `collections.OrderedDict` rebuilt through REDUCE/BUILD: "Expected GenericDict but got
/// None"), which is why this exists.
///
/// Pieces (internal, namespace mura::weights::detail): zip_reader.h (the zip container),
/// unpickler.h and pickle_value.h (the pickle machine and its values), pth_legacy.h (the legacy
/// stream), parse_util.h (byte helpers); this file reads the bytes and dispatches.
///
/// Containers:
///  - Zip (PyTorch >= 1.6 default): `<prefix>/data.pkl` + one stored record
///    `<prefix>/data/<key>` per storage. Records must be stored (torch never compresses);
///    their CRC-32 is checked.
///  - Legacy (`_use_new_zipfile_serialization=False`, torchvision's older ImageNet weights such
///    as resnet50-19c8e357.pth, densenet169-b2777c0a.pth): a stream of pickles (magic number,
///    protocol 1001, sys_info, the object, the sorted storage keys) followed by each storage as
///    an 8-byte little-endian element count and the raw elements. Old storage views
///    (`view_metadata`) and `torch._utils._rebuild_tensor` (PyTorch 0.3) are handled.
///
/// Pickle: protocols 2 to 5 as torch.save emits them. Only the globals a state dict needs are
/// accepted: collections.OrderedDict, torch._utils._rebuild_tensor(_v2),
/// torch._utils._rebuild_parameter(_with_state), torch._tensor._rebuild_from_type_v2 (with
/// torch.Tensor / torch.nn.parameter.Parameter), torch.device and the typed storages
/// torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool,ComplexFloat,ComplexDouble}Storage
/// (also under torch.cuda.). Any other global, and any opcode outside that set, is rejected with
/// an Error naming it and its byte offset: nothing in the file is ever executed.
///
/// What counts as the state dict: the top-level object must be a dict (OrderedDict or plain
/// dict) with string keys. If all its values are tensors, it is the state dict. Otherwise, if it
/// has a `state_dict` or `model_state_dict` entry holding a dict (a training checkpoint such as
/// {'epoch': 3, 'state_dict': {...}, 'optimizer': {...}}), that inner dict is used and the rest
/// is ignored. The OrderedDict's `_metadata` attribute (set through BUILD) is ignored, as is a
/// `_metadata` entry that is not a tensor. A state dict whose values are not all tensors, an
/// empty one, or a top level that is not a dict is an Error naming the offending key.
///
/// Tensors: CPU tensors with the stored dtype and shape, always contiguous copies (storage
/// offset and strides are applied, so views into a shared storage, transposed slices and
/// stride-0 expansions come out as Python's `t.contiguous()`); requires_grad is dropped. Each
/// tensor owns its memory (nothing aliases the file buffer or another tensor). The CUDA location
/// of a storage is ignored: everything loads to the CPU. Limits: a little-endian host and file;
/// a tensor may materialise at most max(1 GiB, 4 x file size) bytes (only overlapping/expanded
/// strides can exceed the file size), so a forged header cannot exhaust memory.
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mura::weights {

/// One tensor of a state dict, in file order.
struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

/// A state dict as read from a torch.save file (order preserved; `_metadata` ignored).
using StateDict = std::vector<NamedTensor>;

enum class PthFormat { Zip, Legacy };

struct PthFile {
  PthFormat format;
  StateDict tensors;
};

/// Reads a .pth file (one pass over the bytes); tensors come back as CPU tensors with their
/// stored dtype and shape, materialised as contiguous copies (views into a shared storage
/// handled: storage offset + strides). Throws mura::Error naming the file and what is wrong
/// (missing/unreadable, not a .pth file, truncated, corrupt, unsupported opcode or global,
/// no state dict inside).
PthFile read_pth(const std::filesystem::path& file);

/// Same from bytes in memory (`name` is used in messages in place of the file name).
PthFile read_pth_bytes(const std::string& bytes, const std::string& name);

}  // namespace mura::weights
