#!/usr/bin/python3
"""Writes the torchvision weights both sides of a bench load: ARCH with one output, seeded,
BatchNorm statistics from one batch (with the default statistics the activations of a random
169-layer net drift into denormal floats, which slow every CPU kernel ~10x and make the
timing meaningless for both sides).

    /usr/bin/python3 bench/peer/write_weights.py ARCH OUT.pth
"""
import sys

import torch
import torchvision

torch.manual_seed(0)
m = getattr(torchvision.models, sys.argv[1])(weights=None, num_classes=1)
for b in m.modules():
    if isinstance(b, torch.nn.BatchNorm2d):
        b.momentum = None
m.train()
with torch.no_grad():
    m(torch.randn(8, 3, 224, 224))
torch.save(m.state_dict(), sys.argv[2])
