"""One searchable layer of the supernet: the candidate blocks of the space and three
ways to run them.

- ``naive``: ``sum_i m_i * op_i(x)``, every candidate run by its own module.
- ``exact``: the same sum, every candidate evaluated, by exact rewrites: the residual
  terms of all residual blocks and the identity skip fold into ONE
  ``(sum of their masks) * x``, the supernet runs in channels-last layout (where CPU
  depthwise convolutions and their backward are much faster; see ``Supernet``).
  (A fused form that merged the candidates' convolutions into one conv per kind was
  measured SLOWER on a 2-core CPU, bench/supernet_throughput.py at commit f8ad338: the
  concatenations and channel slices copy more memory than the saved kernel launches
  cost. It was removed rather than kept untested on devices nobody measured.)
- ``single_path``: only the candidate whose (hard, straight-through) mask is 1 runs.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnas.domains import EXECUTIONS  # config: search.execution
from hwnas.ops import FBNetBlock, Skip, build_op, channel_shuffle
from hwnas.space import LayerSpec

__all__ = ["EXECUTIONS", "MixedOp"]


class MixedOp(nn.Module):
    """The candidates of one layer, in the order of ``op_names`` (the theta columns)."""

    def __init__(self, op_names, layer: LayerSpec):
        super().__init__()
        self.op_names = tuple(op_names)
        self.ops = nn.ModuleList(
            build_op(n, layer.in_channels, layer.out_channels, layer.stride) for n in self.op_names
        )
        self._plan = _ExactPlan(self.ops)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, execution: str = "exact") -> torch.Tensor:
        if execution == "exact":
            return self._plan.per_op(self.ops, x, mask)
        if execution == "naive":
            return sum(mask[i] * op(x) for i, op in enumerate(self.ops))
        if execution == "single_path":
            # mask is one-hot in value (straight-through): run only the chosen op; its
            # mask entry carries the gradient to theta.
            i = int(mask.detach().argmax())
            return mask[i] * self.ops[i](x)
        raise ValueError(f"unknown execution {execution!r}; expected one of {EXECUTIONS}")


def _layout(x: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        else torch.contiguous_format
    )


class _ExactPlan:
    """Which candidates of one layer are FBNet blocks, which fold into the shared residual
    term, which run as they are (not a module: it owns no parameters)."""

    def __init__(self, ops: nn.ModuleList):
        self.blocks = [i for i, op in enumerate(ops) if isinstance(op, FBNetBlock)]
        residual = [i for i in self.blocks if ops[i].residual]
        identity = [i for i, op in enumerate(ops) if isinstance(op, Skip) and op.is_identity]
        self.others = [i for i, op in enumerate(ops) if i not in self.blocks and i not in identity]
        self.residual_index = torch.tensor(residual + identity, dtype=torch.long)

    def per_op(self, ops, x, mask):
        """Every FBNet candidate's body (its block without the residual) by its own
        modules, mask-weighted; the residual terms and identity skip as one product."""
        out = None
        for i in self.blocks:
            b = ops[i]
            y = b.expand(x)
            if b.groups > 1:  # the shuffle's reshape returns NCHW: back to x's layout
                y = channel_shuffle(y, b.groups).contiguous(memory_format=_layout(x))
            o = mask[i] * b.project(b.depthwise(y))
            out = o if out is None else out + o
        return self._residual_and_others(ops, x, mask, out)

    def _residual_and_others(self, ops, x, mask, out):
        if len(self.residual_index):
            r = mask[self.residual_index.to(mask.device)].sum() * x
            out = r if out is None else out + r
        for i in self.others:  # e.g. a skip with a projection: run as is
            o = mask[i] * ops[i](x)
            out = o if out is None else out + o
        return out
