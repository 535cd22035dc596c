"""Pure schedules of the search, as functions of the epoch (0-based, warm-up included).

Being pure functions of the epoch, they need no state in the checkpoint: a resumed
run recomputes them.
"""

from __future__ import annotations

import math

__all__ = ["temperature_at", "weight_lr_at"]


def temperature_at(epoch: int, t0: float, decay: float, warmup_epochs: int = 0) -> float:
    """Gumbel-softmax temperature of ``epoch``: ``t0`` during warm-up, then
    ``t0 * exp(-decay * e)`` with ``e`` the number of search epochs done (FBNet's
    per-epoch annealing by ``exp(-decay)``)."""
    return t0 * math.exp(-decay * max(0, epoch - warmup_epochs))


def weight_lr_at(epoch: int, lr: float, epochs: int, warmup_epochs: int = 0) -> float:
    """Learning rate of the weights in ``epoch``: constant ``lr`` during warm-up (so a
    shared warm-up does not depend on the search length), then cosine decay to 0 over
    the search epochs."""
    if epoch < warmup_epochs:
        return lr
    span = max(1, epochs - warmup_epochs)
    return 0.5 * lr * (1.0 + math.cos(math.pi * (epoch - warmup_epochs) / span))
