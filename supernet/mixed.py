"""One searchable layer of the supernet: the candidate blocks of the space and three
ways to run them.

- ``naive``: ``sum_i m_i * op_i(x)``, every candidate run by its own module.
- ``exact``: the same sum, every candidate evaluated, by exact rewrites: the residual
  terms of all residual blocks and the identity skip fold into ONE
  ``(sum of their masks) * x``, the supernet runs in channels-last layout (where CPU
  depthwise convolutions and their backward are much faster; see ``Supernet``).
  With ``fused=True`` the candidates' convolutions are also merged: the 1x1 expand
  convs of all FBNet candidates read the same ``x``, so they run as ONE conv over
  their concatenated weights (grouped ones as block-diagonal dense weights, the
  channel shuffle folded into the row order) with ONE batch norm over the
  concatenated channels (BN is per channel: exact); the depthwise convs of one kernel
  size run as ONE depthwise conv; the per-op project convs feed ONE batch norm and ONE
  mask-weighted sum (einsum). Running BN statistics are written back to each
  candidate's own BN, and the parameters stay the candidates' parameters, so all modes
  share one state dict. Measured on a 2-core CPU (bench/supernet_throughput.py), the
  merged convs are SLOWER than per-op convs: the concatenations and channel slices
  copy more memory than the saved kernel launches cost. So ``fused`` is off by default;
  it is kept, tested exact, for launch-bound devices (GPUs), where it is unmeasured.
- ``single_path``: only the candidate whose (hard, straight-through) mask is 1 runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.ops import FBNetBlock, Skip, build_op, channel_shuffle
from hwnas.space import LayerSpec

__all__ = ["MODES", "MixedOp"]

MODES = ("exact", "naive", "single_path")


class MixedOp(nn.Module):
    """The candidates of one layer, in the order of ``op_names`` (the theta columns)."""

    def __init__(self, op_names, layer: LayerSpec):
        super().__init__()
        self.op_names = tuple(op_names)
        self.ops = nn.ModuleList(build_op(n, layer.in_channels, layer.out_channels, layer.stride) for n in self.op_names)
        self._plan = _FusedPlan(self.ops)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, mode: str = "exact", fused: bool = False) -> torch.Tensor:
        if mode == "exact":
            if fused:
                return self._plan.fused(self.ops, x, mask, self.training)
            return self._plan.per_op(self.ops, x, mask)
        if mode == "naive":
            return sum(mask[i] * op(x) for i, op in enumerate(self.ops))
        if mode == "single_path":
            # mask is one-hot in value (straight-through): run only the chosen op; its
            # mask entry carries the gradient to theta.
            i = int(mask.detach().argmax())
            return mask[i] * self.ops[i](x)
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


def _layout(x: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format


def _dense_1x1(conv: nn.Conv2d) -> torch.Tensor:
    """The (out, in) matrix of a possibly grouped 1x1 conv (block diagonal)."""
    w = conv.weight.flatten(1)  # (out, in / groups)
    g = conv.groups
    if g == 1:
        return w
    return torch.block_diag(*w.view(g, w.shape[0] // g, w.shape[1]).unbind(0))


def _shuffle_perm(channels: int, groups: int) -> torch.Tensor:
    """``perm`` with ``channel_shuffle(y, groups)[:, o] == y[:, perm[o]]``."""
    if groups == 1:
        return torch.arange(channels)
    return channel_shuffle(torch.arange(channels, dtype=torch.float64).view(1, -1, 1, 1), groups).flatten().long()


class _FusedPlan:
    """Static bookkeeping of the exact fused path for one layer's candidates (not a
    module: it owns no parameters, it only reads the candidates')."""

    def __init__(self, ops: nn.ModuleList):
        blocks = [i for i, op in enumerate(ops) if isinstance(op, FBNetBlock)]
        kernel = {i: ops[i].depthwise.conv.kernel_size[0] for i in blocks}
        # Expand channels are laid out grouped by depthwise kernel, so each kernel
        # size reads one contiguous slice.
        self.blocks = sorted(blocks, key=lambda i: kernel[i])
        self.kernels = sorted(set(kernel.values()))
        self.block_kernel = [kernel[i] for i in self.blocks]
        mids = [ops[i].expand.conv.out_channels for i in self.blocks]
        starts = [sum(mids[:j]) for j in range(len(mids))]
        self.kernel_sizes = [sum(m for m, kk in zip(mids, self.block_kernel) if kk == k) for k in self.kernels]
        self.expand_perm = torch.cat([_shuffle_perm(m, ops[i].groups) + s
                                      for i, m, s in zip(self.blocks, mids, starts)]) if self.blocks else None
        self.residual = [i for i in self.blocks if ops[i].residual]
        self.identity = [i for i, op in enumerate(ops) if isinstance(op, Skip) and op.is_identity]
        self.others = [i for i, op in enumerate(ops) if i not in self.blocks and i not in self.identity]
        self.block_index = torch.tensor(self.blocks, dtype=torch.long)
        self.residual_index = torch.tensor(self.residual + self.identity, dtype=torch.long)

    @staticmethod
    def _batch_norm(y, bns, training, perm=None):
        """One BN over channels concatenated from ``bns`` (optionally permuted by
        ``perm``); running stats written back to each BN's own buffers."""
        weight = torch.cat([bn.weight for bn in bns])
        bias = torch.cat([bn.bias for bn in bns])
        mean = torch.cat([bn.running_mean for bn in bns])
        var = torch.cat([bn.running_var for bn in bns])
        if perm is not None:
            weight, bias, mean, var = weight[perm], bias[perm], mean[perm], var[perm]
        bn0 = bns[0]
        out = F.batch_norm(y, mean, var, weight, bias, training, bn0.momentum, bn0.eps)
        if training:
            with torch.no_grad():
                if perm is not None:
                    mean = torch.empty_like(mean).index_copy_(0, perm, mean)
                    var = torch.empty_like(var).index_copy_(0, perm, var)
                start = 0
                for bn in bns:
                    n = bn.num_features
                    bn.running_mean.copy_(mean[start:start + n])
                    bn.running_var.copy_(var[start:start + n])
                    bn.num_batches_tracked.add_(1)
                    start += n
        return out

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

    def fused(self, ops, x, mask, training):
        """The merged-convolution form described in the module docstring."""
        out = None
        if self.blocks:
            blocks = [ops[i] for i in self.blocks]
            # 1) all expand 1x1 convs as one conv (+ one BN + ReLU), shuffles folded in
            perm = self.expand_perm.to(x.device)
            w = torch.cat([_dense_1x1(b.expand.conv) for b in blocks])[perm]
            y = F.conv2d(x, w[:, :, None, None])
            y = F.relu(self._batch_norm(y, [b.expand.bn for b in blocks], training, perm), inplace=True)
            # 2) the depthwise convs of one kernel size as one depthwise conv (+ BN + ReLU).
            # torch.split, not slicing: its backward is one cat, not a zero-filled full
            # tensor per slice.
            z_parts = []
            for k, y_k in zip(self.kernels, torch.split(y, self.kernel_sizes, dim=1)):
                same_k = [b for b, kk in zip(blocks, self.block_kernel) if kk == k]
                conv = same_k[0].depthwise.conv
                wk = torch.cat([b.depthwise.conv.weight for b in same_k])
                z = F.conv2d(y_k, wk, None, conv.stride, conv.padding, 1, wk.shape[0])
                z = F.relu(self._batch_norm(z, [b.depthwise.bn for b in same_k], training), inplace=True)
                z_parts += torch.split(z, [b.depthwise.conv.out_channels for b in same_k], dim=1)
            # 3) per-op project convs, one BN over their outputs, one weighted sum
            projected = [F.conv2d(z, b.project.conv.weight, groups=b.project.conv.groups) for b, z in zip(blocks, z_parts)]
            p = self._batch_norm(torch.cat(projected, 1), [b.project.bn for b in blocks], training)
            n, c = p.shape[0], blocks[0].project.conv.out_channels
            p = p.unflatten(1, (len(blocks), c))
            out = torch.einsum("bkchw,k->bchw", p, mask[self.block_index.to(mask.device)])
        # 4) residual terms: (sum of residual masks + identity-skip mask) * x
        return self._residual_and_others(ops, x, mask, out)
