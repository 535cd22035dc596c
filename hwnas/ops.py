"""The op registry: one place that turns an op name into a block, for the supernet,
the childnet and the profiler alike.

Op names are data: ``k<kernel>_e<expansion>[_g<groups>]`` (e.g. ``k5_e6``, ``k3_e1_g2``,
``k7_e6`` needs no new code) and ``skip``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from hwnas.errors import UserError

__all__ = ["ConvBN", "FBNetBlock", "OpSpec", "Skip", "build_op", "channel_shuffle", "parse_op"]

_OP_RE = re.compile(r"^k(\d+)_e(\d+)(?:_g(\d+))?$")


@dataclass(frozen=True)
class OpSpec:
    name: str
    kernel: int = 0
    expansion: int = 0
    groups: int = 1

    @property
    def is_skip(self) -> bool:
        return self.name == "skip"


def parse_op(name: str) -> OpSpec:
    if name == "skip":
        return OpSpec("skip")
    m = _OP_RE.match(name)
    if not m:
        raise UserError(f"unknown op name {name!r}; expected 'skip' or k<kernel>_e<expansion>[_g<groups>]")
    k, e, g = int(m[1]), int(m[2]), int(m[3] or 1)
    if k % 2 == 0 or k < 1 or e < 1 or g < 1:
        raise UserError(f"op {name!r}: kernel must be odd, expansion and groups >= 1")
    return OpSpec(name, k, e, g)


class ConvBN(nn.Sequential):
    """conv + BN (+ ReLU). Kept as named children (expand, depthwise, project) for readable state dicts."""

    def __init__(self, cin, cout, kernel=1, stride=1, groups=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        if relu:
            self.relu = nn.ReLU(inplace=True)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.shape
    y = x.reshape(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)
    # keep the input's memory layout: a channels-last input falling back to NCHW here
    # would put the following depthwise conv on CPU's slow path
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        y = y.contiguous(memory_format=torch.channels_last)
    return y


class FBNetBlock(nn.Module):
    """FBNet candidate block: 1x1 (group) expand + BN + ReLU, channel shuffle when
    grouped, kxk depthwise (stride) + BN + ReLU, 1x1 (group) project + BN, residual
    when the shape is kept."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, expansion: int, groups: int = 1):
        super().__init__()
        mid = cin * expansion
        for what, c in (("input", cin), ("expanded", mid), ("output", cout)):
            if c % groups:
                raise UserError(f"{what} channels {c} not divisible by groups {groups}")
        self.groups = groups
        self.expand = ConvBN(cin, mid, 1, groups=groups)
        self.depthwise = ConvBN(mid, mid, kernel, stride, groups=mid)
        self.project = ConvBN(mid, cout, 1, groups=groups, relu=False)
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        y = self.expand(x)
        if self.groups > 1:
            y = channel_shuffle(y, self.groups)
        y = self.project(self.depthwise(y))
        return y + x if self.residual else y


class Skip(nn.Module):
    """``skip``: identity, or where the shape changes a 1x1 conv + BN + ReLU (as in HW-NAS-Bench)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.proj = None if (cin == cout and stride == 1) else ConvBN(cin, cout, 1, stride)

    @property
    def is_identity(self) -> bool:
        return self.proj is None

    def forward(self, x):
        return x if self.proj is None else self.proj(x)


def build_op(name: str, cin: int, cout: int, stride: int) -> nn.Module:
    """Build the block called ``name`` for input ``cin`` channels, output ``cout``, ``stride``."""
    spec = parse_op(name)
    if spec.is_skip:
        return Skip(cin, cout, stride)
    return FBNetBlock(cin, cout, stride, spec.kernel, spec.expansion, spec.groups)
