#!/usr/bin/python3
"""Test oracle for the augmentations: torchvision's own functional transforms applied with
the parameters mura drew (Debian's python3-torchvision; never a runtime dependency).

    /usr/bin/python3 tests/reference/augment_reference.py IMAGE.bin H W BOXES.json SIZE OUT.bin

IMAGE.bin: H x W uint8 (row-major); BOXES.json: [[top, left, height, width], ...]. For each
box writes torchvision.transforms.functional.resized_crop(image, top, left, height, width,
[SIZE, SIZE], BILINEAR, antialias=False) of the image as a uint8 tensor (what
RandomResizedCrop does with the parameters its get_params drew) to OUT.bin, one SIZE x SIZE
uint8 image after another.
"""
import json
import sys

import numpy as np
import torch
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    src, h, w, boxes, size, out = sys.argv[1:]
    h, w, size = int(h), int(w), int(size)
    img = torch.from_numpy(np.fromfile(src, dtype=np.uint8).reshape(1, h, w).copy())
    with open(out, "wb") as f:
        for top, left, bh, bw in json.load(open(boxes)):
            crop = F.resized_crop(img, top, left, bh, bw, [size, size],
                                  InterpolationMode.BILINEAR, antialias=False)
            f.write(crop.numpy().astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
