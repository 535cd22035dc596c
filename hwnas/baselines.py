"""The hand-designed baselines as data: a name, a class count, an input shape, a width
multiplier and a stem stride rebuild the network, so a baseline's data file
(``childnet.export``) holds no code. torchvision is imported only when a baseline is built.

Adaptation to a search space's input (one rule for every baseline): the stem takes the
space's channels and downsamples by the space's ``stem_stride`` (what the searched
networks see after their stem), ResNet-18 drops its max-pool, and the rest of the
network is torchvision's, its channels times ``width`` (MobileNetV2's ``width_mult``,
MnasNet's ``alpha``, ResNet-18's stage channels rounded to multiples of 8). A baseline
whose downsampling exceeds the input side cannot be adapted (``check_adaptable``).
MnasNet's batch norms get PyTorch's momentum (0.1) instead of TensorFlow's, and its
classifier the initial scale it has with 1000 classes.
Files written before widths existed have no ``width``/``stem_stride``: 1.0 and 1.
"""

from __future__ import annotations

import functools

from torch import nn

from hwnas.errors import UserError
from hwnas.space import make_divisible

__all__ = ["BASELINES", "INNER_STRIDE", "baseline_model", "check_adaptable"]

BASELINES = ("mobilenet_v2", "resnet18", "mnasnet")
# downsampling of each network after its stem (torchvision's strides; ResNet without its max-pool)
INNER_STRIDE = {"mobilenet_v2": 16, "resnet18": 8, "mnasnet": 16}


def _known(name: str) -> None:
    if name not in BASELINES:
        raise UserError(f"unknown baseline {name!r}; expected one of {', '.join(BASELINES)}")


def check_adaptable(name: str, input_shape, stem_stride: int) -> None:
    """One line when ``name`` cannot take ``input_shape``: its total downsampling (stem
    stride x ``INNER_STRIDE``) must not exceed the input side (else its last stages
    would stride over a single pixel)."""
    _known(name)
    side = int(input_shape[1])
    factor = stem_stride * INNER_STRIDE[name]
    if side < factor:
        raise UserError(
            f"baseline {name}: cannot be adapted to inputs of {'x'.join(map(str, input_shape))}: it "
            f"downsamples {factor}x (stem {stem_stride} x {INNER_STRIDE[name]}), so it needs a side of at "
            f"least {factor}; set baselines.{name}: null to leave it out"
        )


def baseline_model(
    name: str, num_classes: int, input_shape=(3, 32, 32), width: float = 1.0, stem_stride: int = 1
) -> nn.Module:
    """The torchvision network ``name`` adapted as the module docstring says."""
    _known(name)
    check_adaptable(name, input_shape, stem_stride)
    import torchvision

    channels = int(input_shape[0])
    if name == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2(num_classes=num_classes, width_mult=width)
        stem = model.features[0][0]
        model.features[0][0] = nn.Conv2d(channels, stem.out_channels, 3, stem_stride, 1, bias=False)
        nn.init.kaiming_normal_(model.features[0][0].weight, mode="fan_out")  # torchvision's init of its convs
        return model
    if name == "mnasnet":
        model = _mnasnet_class()(width, num_classes=num_classes)
        stem = model.layers[0]
        model.layers[0] = nn.Conv2d(channels, stem.out_channels, 3, stem_stride, 1, bias=False)
        nn.init.kaiming_normal_(model.layers[0].weight, mode="fan_out", nonlinearity="relu")
        for m in model.modules():
            # torchvision keeps TensorFlow's batch-norm momentum (0.0003): in a recipe of a few
            # hundred steps the running statistics barely move and the tested network stayed at
            # chance (0.10 on Fashion-MNIST); PyTorch's default, as every other network here has
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1
        # torchvision initializes the classifier by its fan-out, sized for 1000 classes; with 10
        # the logits start 10x larger (first-epoch loss ~10) -> by its fan-in, the 1000-class scale
        nn.init.kaiming_uniform_(model.classifier[1].weight, mode="fan_in", nonlinearity="sigmoid")
        return model
    return _resnet18(num_classes, channels, width, stem_stride)


def _resnet18(num_classes: int, channels: int, width: float, stem_stride: int) -> nn.Module:
    """torchvision's ResNet-18 with a 3x3 stem, no max-pool and every stage ``width`` times as wide."""
    from torchvision.models.resnet import BasicBlock, ResNet

    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
    c = [64, 128, 256, 512] if width == 1.0 else [make_divisible(v * width) for v in (64, 128, 256, 512)]
    model.conv1 = nn.Conv2d(channels, c[0], kernel_size=3, stride=stem_stride, padding=1, bias=False)
    model.bn1 = nn.BatchNorm2d(c[0])
    model.maxpool = nn.Identity()
    if width != 1.0:  # rebuild the stages at their width with torchvision's own layer builder
        model.inplanes = c[0]
        model.layer1 = model._make_layer(BasicBlock, c[0], 2)
        model.layer2 = model._make_layer(BasicBlock, c[1], 2, stride=2)
        model.layer3 = model._make_layer(BasicBlock, c[2], 2, stride=2)
        model.layer4 = model._make_layer(BasicBlock, c[3], 2, stride=2)
        model.fc = nn.Linear(c[3], num_classes)
    for m in model.modules():  # torchvision's initialization, for the replaced modules too
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


@functools.cache
def _mnasnet_class():
    from torchvision.models.mnasnet import MNASNet

    class MnasNet(MNASNet):
        """torchvision's MNASNet; a data file's weights carry no torch ``_metadata``,
        and every one was written from the current (version 2) model."""

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
            super()._load_from_state_dict(state_dict, prefix, {**local_metadata, "version": 2}, *args)

    return MnasNet
