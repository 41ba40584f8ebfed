"""Shared by the test oracles: a torchvision model with torchvision's own random init and
BatchNorm running statistics calibrated on one random batch, so that eval-mode activations
stay in a sane range (default statistics blow up through 100+ layers)."""
import torch
import torchvision


def calibrated_model(arch, num_classes=1000, seed=0):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = None  # cumulative average: exactly this batch's statistics
    model.train()
    with torch.no_grad():
        model(torch.randn(4, 3, 128, 128))
    for m in bns:
        m.momentum = 0.1
    return model
