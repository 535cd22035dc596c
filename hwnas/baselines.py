"""The hand-designed baselines as data: a name and a class count rebuild the network
(torchvision's MobileNetV2 and ResNet-18 with the usual CIFAR-size changes), so a
baseline's data file (``childnet.export``) holds no code. torchvision is imported only
when a baseline is built."""

from __future__ import annotations

from torch import nn

from hwnas.errors import UserError

__all__ = ["BASELINES", "baseline_model"]

BASELINES = ("mobilenet_v2", "resnet18")


def baseline_model(name: str, num_classes: int) -> nn.Module:
    """The torchvision model with the usual CIFAR-size changes (no early downsampling)."""
    if name not in BASELINES:
        raise UserError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")
    import torchvision

    if name == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2(num_classes=num_classes)
        model.features[0][0].stride = (1, 1)  # 32x32 input: keep the stem at full resolution
        return model
    model = torchvision.models.resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model
