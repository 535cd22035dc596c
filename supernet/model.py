"""The FBNet supernet: stem, one ``MixedOp`` per searchable layer, head, and theta
(one row of architecture logits per layer, one column per candidate op)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.network import build_head, build_stem
from hwnas.space import SearchSpace
from supernet.mixed import EXECUTIONS, MixedOp

__all__ = ["Supernet"]


class Supernet(nn.Module):
    """``forward(x, masks)`` runs every layer with its row of ``masks`` (layers, ops).

    theta starts at zero: every candidate equally likely. ``execution`` (exact | naive |
    single_path) only changes how the layers compute, not the parameters.
    ``channels_last`` (default: every execution but naive) runs the activations in NHWC
    layout, where CPU depthwise convolutions (and their backward) are much faster;
    the results are the same up to float rounding.
    """

    def __init__(self, space: SearchSpace, execution: str = "exact", channels_last: bool | None = None):
        super().__init__()
        if execution not in EXECUTIONS:
            raise ValueError(f"unknown execution {execution!r}; expected one of {EXECUTIONS}")
        self.space = space
        self.execution = execution
        self.channels_last = execution != "naive" if channels_last is None else channels_last
        self.stem = build_stem(space)
        self.layers = nn.ModuleList(MixedOp(space.ops, layer) for layer in space.layers)
        self.head = build_head(space)
        self.theta = nn.Parameter(torch.zeros(space.num_layers, len(space.ops)))

    def weight_parameters(self):
        return [p for name, p in self.named_parameters() if name != "theta"]

    def sample_masks(self, temperature: float, hard: bool | None = None) -> torch.Tensor:
        """Gumbel-softmax masks (layers, ops) from theta. ``hard`` (default: in
        single_path execution) gives straight-through one-hot masks."""
        if hard is None:
            hard = self.execution == "single_path"
        return F.gumbel_softmax(self.theta, tau=temperature, hard=hard, dim=-1)

    def forward(self, x: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        for layer, mask in zip(self.layers, masks):
            x = layer(x, mask, self.execution)
        return self.head(x)

    def probabilities(self) -> torch.Tensor:
        return F.softmax(self.theta.detach(), dim=-1)

    def argmax_ops(self) -> list[str]:
        return [self.space.ops[i] for i in self.theta.detach().argmax(dim=-1).tolist()]
