#!/usr/bin/python3
"""Test oracle for mura's .pth reader (tests/weights/pth_reader_test.cpp).

Usage: /usr/bin/python3 tests/reference/write_state_dicts.py OUTDIR

Writes torch.save files in both containers (zip, the >= 1.6 default, and the legacy stream,
`_use_new_zipfile_serialization=False`) and the state dicts the reader must return, as
references shared by the files that hold the same tensors:
  REF.ref.txt  one line per tensor, in order: name <TAB> dtype <TAB> shape <TAB> nbytes
               (shape as comma-separated sizes, "-" for a 0-dim tensor; dtype as in
               "torch.float32" without the "torch." prefix)
  REF.ref.bin  the tensors' bytes, `t.contiguous()` in that order, concatenated
plus `fixtures.txt`, one line per file: NAME <TAB> zip|legacy <TAB> REF  (for NAME.pth).

Needs Debian's torch 1.13 and torchvision 0.14 (/usr/bin/python3), nothing else.
"""
import collections
import os
import sys

import torch
import torchvision


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16; its bits are an int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_reference(out_dir, ref, expected):
    """REF.ref.txt + REF.ref.bin for `expected`, an ordered dict of tensors."""
    with open(os.path.join(out_dir, ref + ".ref.txt"), "w") as index, \
            open(os.path.join(out_dir, ref + ".ref.bin"), "wb") as data:
        for key, t in expected.items():
            b = raw_bytes(t)
            shape = ",".join(str(s) for s in t.shape) if t.dim() > 0 else "-"
            dtype = str(t.dtype).replace("torch.", "")
            index.write(f"{key}\t{dtype}\t{shape}\t{len(b)}\n")
            data.write(b)


def save(out_dir, name, obj, ref, legacy=False, **kwargs):
    """torch.save(obj) as NAME.pth, whose state dict must equal the reference REF."""
    torch.save(obj, os.path.join(out_dir, name + ".pth"),
               _use_new_zipfile_serialization=not legacy, **kwargs)
    with open(os.path.join(out_dir, "fixtures.txt"), "a") as f:
        f.write(f"{name}\t{'legacy' if legacy else 'zip'}\t{ref}\n")


def resnet18_state_dict(dtype):
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    # Random running statistics, so buffers are not all zeros and ones.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.num_batches_tracked.fill_(7)
    return model.to(dtype).state_dict()


def dtypes_state_dict():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 3, generator=g)
    sd = collections.OrderedDict()
    sd["float32"] = f
    sd["float64"] = f.double() * 1e-300
    sd["float16"] = f.half()
    sd["bfloat16"] = f.bfloat16()
    sd["int64"] = torch.tensor([[-(2**62), 2**62 + 3, -1]])
    sd["int32"] = torch.tensor([-(2**31), 2**31 - 1, 5], dtype=torch.int32)
    sd["int16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    sd["int8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    sd["uint8"] = torch.arange(0, 256, 51, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["complex64"] = torch.randn(3, dtype=torch.complex64, generator=g)
    sd["complex128"] = torch.randn(2, 2, dtype=torch.complex128, generator=g)
    sd["num_batches_tracked"] = torch.tensor(123456789012, dtype=torch.long)  # 0-dim
    sd["empty"] = torch.zeros(0, 4)
    sd["nan_inf"] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0])
    return sd


def views_state_dict():
    base = torch.arange(60, dtype=torch.float32).reshape(5, 12) * 0.5 - 3
    sd = collections.OrderedDict()
    sd["base"] = base                               # the whole storage
    sd["rows"] = base[1:]                           # storage offset 12
    sd["transposed_slice"] = base.t()[2:9, 1::2]    # offset + non-contiguous strides
    sd["column"] = base[:, 7]                       # stride 12
    sd["scalar_view"] = base[3, 4]                  # 0-dim view with an offset
    sd["expanded"] = base[2, 3:6].expand(4, 3)      # stride 0
    sd["empty_view"] = base[5:]                     # zero elements, offset at the end
    sd["reversed_dims"] = base.reshape(5, 3, 4).permute(2, 0, 1)[1:, :, ::2]
    other = torch.arange(10, dtype=torch.int64)
    sd["long_tail"] = other[7:]                     # second storage, offset
    sd["long_head"] = other[:3]
    return sd


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: write_state_dicts.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "fixtures.txt"), "w").close()

    sd = resnet18_state_dict(torch.float32)
    write_reference(out, "resnet18", sd)
    save(out, "resnet18_zip", sd, "resnet18")
    save(out, "resnet18_legacy", sd, "resnet18", legacy=True)
    half = resnet18_state_dict(torch.float16)
    write_reference(out, "resnet18_half", half)
    save(out, "resnet18_half_zip", half, "resnet18_half")
    save(out, "resnet18_half_legacy", half, "resnet18_half", legacy=True)
    double = resnet18_state_dict(torch.float64)  # zip float64 is covered by dtypes_zip
    write_reference(out, "resnet18_double", double)
    save(out, "resnet18_double_legacy", double, "resnet18_double", legacy=True)

    d = dtypes_state_dict()
    write_reference(out, "dtypes", d)
    save(out, "dtypes_zip", d, "dtypes")
    save(out, "dtypes_legacy", d, "dtypes", legacy=True)

    v = views_state_dict()
    write_reference(out, "views", v)
    save(out, "views_zip", v, "views")
    save(out, "views_legacy", v, "views", legacy=True)
    # Protocol 4 adds FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL.
    save(out, "views_zip_protocol4", v, "views", pickle_protocol=4)
    save(out, "views_legacy_protocol4", v, "views", legacy=True, pickle_protocol=4)

    # A plain dict (no OrderedDict, no _metadata) holding nn.Parameters (_rebuild_parameter).
    torch.manual_seed(2)
    lin = torch.nn.Linear(5, 3)
    plain = {"weight": lin.weight, "bias": lin.bias, "scale": torch.tensor([2.5])}
    write_reference(out, "plain_dict",
                    collections.OrderedDict((k, t.detach()) for k, t in plain.items()))
    save(out, "plain_dict_zip", plain, "plain_dict")
    save(out, "plain_dict_legacy", plain, "plain_dict", legacy=True)

    # Training checkpoints as the seeds' scripts write them.
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.Flatten(), torch.nn.Linear(4, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    net(torch.randn(2, 3, 3, 3)).sum().backward()
    opt.step()  # momentum buffers: tensors in the optimizer state, which must be skipped
    inner = net.state_dict()
    write_reference(out, "checkpoint", inner)
    checkpoint = {"epoch": 3, "best_auc": 0.875, "arch": "densenet169", "state_dict": inner,
                  "optimizer": opt.state_dict(), "args": {"lr": 0.01, "tasks": ["XR_WRIST"]},
                  "classes": ("negative", "positive"), "done": None}
    save(out, "checkpoint_state_dict_zip", checkpoint, "checkpoint")
    save(out, "checkpoint_state_dict_legacy", checkpoint, "checkpoint", legacy=True)
    checkpoint2 = {"model_state_dict": inner, "optimizer_state_dict": opt.state_dict(),
                   "epoch": 9}
    save(out, "checkpoint_model_state_dict_zip", checkpoint2, "checkpoint")

if __name__ == "__main__":
    main()
