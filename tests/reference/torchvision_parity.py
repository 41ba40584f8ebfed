#!/usr/bin/python3
"""Test oracle: writes torchvision reference fixtures for tests/models/parity_test.cpp.

Run with Debian's python3-torch / python3-torchvision (never a runtime dependency of mura):
    /usr/bin/python3 tests/reference/torchvision_parity.py OUTDIR [ARCH ...]

For each architecture it writes, into OUTDIR/ARCH/:
  keys.json               state-dict keys in order with shapes and dtypes
  weights.zip.pth         torch.save(model.state_dict()) -- zip format, an OrderedDict
  weights.legacy.pth      the same, _use_new_zipfile_serialization=False (pre-1.6 format)
  weights.legacy_names.pth  like torchvision's 2017 files: legacy format, legacy key names
                          (DenseNet's norm.1 ...; ResNet's never changed) and no
                          num_batches_tracked
  tensors.json + *.bin    inputs, eval logits at 224 and 320, train-mode logits and the
                          gradients of a few named parameters (raw little-endian float32)
The random weights are torchvision's own init (seeded), with BatchNorm running statistics
calibrated on one random batch so that eval-mode activations stay in a sane range.
A stamp file makes re-runs with the same script and torch version free.
"""
import hashlib
import json
import os
import sys

import torch

from reference_models import calibrated_model

ARCHS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
         "densenet121", "densenet161", "densenet169", "densenet201"]

GRAD_PARAMS = {
    "resnet": ["conv1.weight", "layer1.0.conv1.weight", "layer4.1.bn2.weight", "fc.weight", "fc.bias"],
    "densenet": ["features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight",
                 "features.transition2.conv.weight", "features.norm5.weight", "classifier.weight"],
}


def legacy_name(key):
    # inverse of torchvision.models.densenet._load_state_dict's mapping
    for a, b in (("norm1", "norm.1"), ("conv1", "conv.1"), ("norm2", "norm.2"), ("conv2", "conv.2")):
        marker = ".%s." % a
        if "denselayer" in key and marker in key:
            return key.replace(marker, ".%s." % b)
    return key


def write_tensor(outdir, index, name, t):
    t = t.detach().contiguous().to(torch.float32)
    fname = name.replace("/", "_") + ".bin"
    with open(os.path.join(outdir, fname), "wb") as f:
        f.write(t.numpy().tobytes())
    index[name] = {"file": fname, "shape": list(t.shape)}


def make(arch, outdir):
    os.makedirs(outdir, exist_ok=True)
    model = calibrated_model(arch)

    sd = model.state_dict()
    with open(os.path.join(outdir, "keys.json"), "w") as f:
        json.dump([[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()], f)
    torch.save(sd, os.path.join(outdir, "weights.zip.pth"))
    torch.save(sd, os.path.join(outdir, "weights.legacy.pth"), _use_new_zipfile_serialization=False)
    # like torchvision's 2017 files (resnet18-5c106cde.pth, densenet121-a639ec97.pth):
    # legacy key names (only DenseNet's differ), and no num_batches_tracked (BatchNorm
    # gained that buffer in PyTorch 0.4.1)
    from collections import OrderedDict
    legacy = OrderedDict((legacy_name(k), v) for k, v in sd.items()
                         if not k.endswith("num_batches_tracked"))
    assert any(".norm.1." in k for k in legacy) == arch.startswith("densenet")
    torch.save(legacy, os.path.join(outdir, "weights.legacy_names.pth"),
               _use_new_zipfile_serialization=False)

    index = {}
    g = torch.Generator().manual_seed(1)
    x224 = torch.randn(2, 3, 224, 224, generator=g)
    x320 = torch.randn(2, 3, 320, 320, generator=g)
    write_tensor(outdir, index, "input224", x224)
    write_tensor(outdir, index, "input320", x320)
    model.eval()
    with torch.no_grad():
        write_tensor(outdir, index, "eval224", model(x224))
        write_tensor(outdir, index, "eval320", model(x320))
    # train mode: batch statistics, then gradients of sum(logits * w)
    model.train()
    w = torch.randn(2, 1000, generator=g)
    write_tensor(outdir, index, "train_weight", w)
    out = model(x224)
    write_tensor(outdir, index, "train224", out)
    (out * w).sum().backward()
    params = dict(model.named_parameters())
    family = "resnet" if arch.startswith("resnet") else "densenet"
    for name in GRAD_PARAMS[family]:
        write_tensor(outdir, index, "grad/" + name, params[name].grad)
    # the C++ test runs with the same intra-op thread count: float32 reductions split
    # differently across threads round differently
    index["threads"] = torch.get_num_threads()
    with open(os.path.join(outdir, "tensors.json"), "w") as f:
        json.dump(index, f)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    archs = sys.argv[2:] or ARCHS
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    stamp_text = hashlib.sha256(open(__file__, "rb").read()).hexdigest() + " torch " + torch.__version__
    for arch in archs:
        d = os.path.join(out, arch)
        stamp = os.path.join(d, "stamp")
        if os.path.exists(stamp) and open(stamp).read() == stamp_text:
            continue
        make(arch, d)
        with open(stamp, "w") as f:
            f.write(stamp_text)
        print("wrote", d, flush=True)


if __name__ == "__main__":
    main()
