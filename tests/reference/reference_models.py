"""Shared by the test oracles: a torchvision model with torchvision's own random init and
BatchNorm running statistics calibrated on one random batch, so that eval-mode activations
stay in a sane range (default statistics blow up through 100+ layers). ConvNeXt's
layer_scale (1e-6 at init, which would leave its blocks' outputs below float rounding of the
residual stream) is redrawn in [0.05, 0.3] so that every block shows in the outputs."""
import torch
import torchvision


def calibrated_model(arch, num_classes=1000, seed=0):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.momentum = None  # cumulative average: exactly this batch's statistics
    model.train()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.uniform_(0.05, 0.3)
        model(torch.randn(4, 3, 128, 128))
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum  # the architecture's own (EfficientNet-B5..B7: 0.01)
    return model
