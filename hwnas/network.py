"""One builder for whole networks of a space: stem, one block per searchable layer
(from the op registry), head. Used by the childnet, by ``lut.validate`` and by the
profiler (for the fixed part). ``trace`` gives a network's deployed form (the LUT
describes that form; ``childnet.measure`` and ``lut.protocol`` time it)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from hwnas.ops import ConvBN, Skip, build_op
from hwnas.space import SearchSpace

__all__ = ["Head", "build_head", "build_network", "build_stem", "trace"]


def build_stem(space: SearchSpace) -> nn.Module:
    return ConvBN(space.input_shape[0], space.stem_channels, 3, space.stem_stride)


class Head(nn.Module):
    """1x1 conv to ``head_channels`` + BN + ReLU, global average pool, linear classifier."""

    def __init__(self, cin: int, head_channels: int, num_classes: int):
        super().__init__()
        self.conv = ConvBN(cin, head_channels, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head_channels, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))


def build_head(space: SearchSpace) -> Head:
    return Head(space.last_channels, space.head_channels, space.num_classes)


def build_network(space: SearchSpace, ops) -> nn.Sequential:
    """The plain network for an architecture (one op name per layer). Identity ``skip``
    layers vanish, so the module holds only what runs."""
    ops = space.check_arch(ops)
    blocks = [build_op(op, l.in_channels, l.out_channels, l.stride) for op, l in zip(ops, space.layers)]
    blocks = [b for b in blocks if not (isinstance(b, Skip) and b.is_identity)]
    return nn.Sequential(build_stem(space), *blocks, build_head(space))


def trace(net: nn.Module, x: torch.Tensor) -> torch.jit.ScriptModule:
    """The deployed form of a network: ``torch.jit.trace`` in eval mode, as
    ``childnet.export`` writes it (its deprecation warning silenced). Traces a module
    built here from data: it runs no code from a file."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.trace(net.eval(), x, check_trace=False)  # the check re-traces: 0.3 s a network
