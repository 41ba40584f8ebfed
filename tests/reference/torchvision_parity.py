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
  tensors.json + *.bin    inputs, eval logits at 224 and 320 (and the architecture's
                          native size: NATIVE), train-mode logits (torch seeded with
                          TRAIN_SEED first) and the gradients of five named parameters (raw
                          little-endian float32)
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
         "densenet121", "densenet161", "densenet169", "densenet201",
         "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
         "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
         "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
         "convnext_tiny", "convnext_small", "convnext_base"]

# The sizes torchvision's ImageNet weights are evaluated at (their transforms' crop size),
# where that is neither 224 nor 320.
NATIVE = {"efficientnet_b1": 240, "efficientnet_b2": 288, "efficientnet_b3": 300,
          "efficientnet_b4": 380, "efficientnet_b5": 456, "efficientnet_b6": 528,
          "efficientnet_b7": 600, "efficientnet_v2_s": 384, "efficientnet_v2_m": 480,
          "efficientnet_v2_l": 480}

# Train mode draws stochastic depth and dropout from torch's generator: both sides seed it
# with this before the train-mode forward (tests/models/parity_test.cpp).
TRAIN_SEED = 20261207


def grad_params(arch, model):
    """Five parameters whose gradients are compared: the stem, an early block, a late block,
    the last normalisation and the head."""
    if arch.startswith("resnet"):
        return ["conv1.weight", "layer1.0.conv1.weight", "layer4.1.bn2.weight", "fc.weight", "fc.bias"]
    if arch.startswith("densenet"):
        return ["features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight",
                "features.transition2.conv.weight", "features.norm5.weight", "classifier.weight"]
    last = len(model.features) - 1
    if arch.startswith("efficientnet"):
        # the last stage's first block is an MBConv with expansion: block.2 is its
        # squeeze-excitation
        return ["features.0.0.weight", "features.1.0.block.0.0.weight",
                "features.%d.0.block.2.fc1.weight" % (last - 1), "features.%d.1.weight" % last,
                "classifier.1.weight"]
    return ["features.0.0.weight", "features.1.0.layer_scale", "features.6.1.weight",
            "features.%d.2.block.5.weight" % last, "classifier.2.weight"]


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
    sizes = [224, 320] + ([NATIVE[arch]] if arch in NATIVE else [])
    inputs = {224: x224, 320: x320}
    for size in sizes[2:]:
        inputs[size] = torch.randn(2, 3, size, size, generator=g)
    index["sizes"] = sizes
    model.eval()
    for size in sizes:
        write_tensor(outdir, index, "input%d" % size, inputs[size])
        with torch.no_grad():
            write_tensor(outdir, index, "eval%d" % size, model(inputs[size]))
    # train mode: batch statistics (and stochastic depth, dropout), then gradients of
    # sum(logits * w)
    model.train()
    w = torch.randn(2, 1000, generator=g)
    write_tensor(outdir, index, "train_weight", w)
    torch.manual_seed(TRAIN_SEED)
    out = model(x224)
    write_tensor(outdir, index, "train224", out)
    (out * w).sum().backward()
    params = dict(model.named_parameters())
    for name in grad_params(arch, model):
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
