"""FLOP and MAC counting, one place: ``torch.utils.flop_counter`` counts 2 FLOPs per
multiply-accumulate. Used for a childnet's and a baseline's ``flops`` and for a LUT
entry's ``macs`` (``lut.profile``, the analytical energy model)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_flops", "count_macs"]


def count_macs(module: nn.Module, example_input: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass (``FlopCounterMode`` counts 2 per MAC)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(example_input)
    return counter.get_total_flops() // 2


def count_flops(model: nn.Module, input_shape) -> int:
    """FLOPs of one inference of one image in eval mode (2 per MAC); the model's
    train/eval mode is restored."""
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    return int(counter.get_total_flops())
