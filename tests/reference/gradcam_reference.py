#!/usr/bin/python3
"""Test oracle for Grad-CAM: torchvision models, the same weights mura loads, CAMs computed
with hooks on the target layer in Python (Debian's python3-torch, python3-torchvision).

    /usr/bin/python3 tests/reference/gradcam_reference.py OUTDIR

For resnet18 (target: layer4, a forward hook + a tensor hook for its gradient),
densenet121 (target: features after norm5 and torchvision's ReLU, taken from the same
modules as torchvision's forward), efficientnet_b0 and convnext_tiny (target: `features`,
hooked as layer4), with a 1-logit head, writes OUTDIR/ARCH/:
  weights.pth, input.bin [2,3,224,224], gradcam.bin / gradcampp.bin [2,7,7] (normalised to
  [0,1] per image), probs.bin [2], meta.json (threads).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

from reference_models import calibrated_model


def normalise(cam):
    flat = cam.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1)
    rng = hi - lo
    return torch.where(rng > 0, (cam - lo) / rng.clamp_min(1e-12), torch.zeros_like(cam))


def cams(a, g):
    """Grad-CAM and Grad-CAM++ (pytorch-grad-cam's formulation) from activations and grads."""
    w = g.mean((2, 3), keepdim=True)
    gc = normalise(F.relu((w * a).sum(1)))
    g2, g3 = g.pow(2), g.pow(3)
    alpha = g2 / (2 * g2 + a.sum((2, 3), keepdim=True) * g3 + 1e-7)
    alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
    wpp = (alpha * F.relu(g)).sum((2, 3), keepdim=True)
    gcpp = normalise(F.relu((wpp * a).sum(1)))
    return gc, gcpp


def save(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().float().numpy().tobytes())


def make(arch, out):
    os.makedirs(out, exist_ok=True)
    m = calibrated_model(arch, num_classes=1)
    m.eval()
    torch.save(m.state_dict(), os.path.join(out, "weights.pth"))
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    if not arch.startswith("densenet"):
        store = {}

        def fwd(module, inp, output):
            store["a"] = output
            output.register_hook(lambda grad: store.__setitem__("g", grad))

        # ResNet: layer4; EfficientNet and ConvNeXt: the whole `features` (its last stage's
        # output), in torchvision's own forward
        target = m.layer4 if arch.startswith("resnet") else m.features
        handle = target.register_forward_hook(fwd)
        logits = m(x)
        logits[:, 0].sum().backward()
        handle.remove()
        a, g = store["a"].detach(), store["g"]
    else:
        feats = F.relu(m.features(x))  # torchvision's DenseNet.forward, up to the pooling
        feats.retain_grad()
        logits = m.classifier(torch.flatten(F.adaptive_avg_pool2d(feats, (1, 1)), 1))
        logits[:, 0].sum().backward()
        a, g = feats.detach(), feats.grad
    gc, gcpp = cams(a, g)
    save(os.path.join(out, "input.bin"), x)
    save(os.path.join(out, "gradcam.bin"), gc)
    save(os.path.join(out, "gradcampp.bin"), gcpp)
    save(os.path.join(out, "probs.bin"), torch.sigmoid(logits[:, 0]))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump({"threads": torch.get_num_threads(), "cam_shape": list(gc.shape)}, f)


if __name__ == "__main__":
    for arch in ("resnet18", "densenet121", "efficientnet_b0", "convnext_tiny"):
        make(arch, os.path.join(sys.argv[1], arch))
