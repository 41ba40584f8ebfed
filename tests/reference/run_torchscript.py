#!/usr/bin/python3
"""Test oracle: runs a TorchScript file exported by `mura export` in Python.

    /usr/bin/python3 tests/reference/run_torchscript.py MODEL.pt INPUT.bin B H W OUTPUT.bin

INPUT.bin holds B*3*H*W little-endian float32; writes the module's output (float32) to
OUTPUT.bin and prints its metadata attributes as JSON.
"""
import json
import sys

import numpy as np
import torch

model_path, input_path, b, h, w, output_path = sys.argv[1:7]
m = torch.jit.load(model_path)
m.eval()
x = torch.from_numpy(np.fromfile(input_path, dtype="<f4").reshape(int(b), 3, int(h), int(w)))
with torch.no_grad():
    y = m(x)
y.contiguous().numpy().astype("<f4").tofile(output_path)
print(json.dumps({
    "architecture": m.architecture, "image_size": m.image_size, "num_outputs": m.num_outputs,
    "mean": list(m.mean), "std": list(m.std), "threshold": m.threshold,
    "mura_version": m.mura_version, "format_version": m.format_version,
    "output_shape": list(y.shape),
}))
