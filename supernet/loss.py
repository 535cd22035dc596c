"""The search loss, pure: cross-entropy traded against expected latency and energy.

``LAT`` and ``ENER`` are the LUT's fixed part plus the mask-weighted sums of its
per-layer tables (FBNet eq. 4; the HANNA report eq. 2 for energy), so they are
differentiable in theta. Forms:

- ``hanna``: ``CE + alpha * LAT^beta + gamma * ENER^delta``
- ``fbnet``: ``CE * alpha * log(LAT)^beta`` (energy ignored), as in the FBNet paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hwnas.domains import KNOBS, LOSS_FORMS
from hwnas.errors import UserError
from lut.cost import CostTensors

__all__ = ["LOSS_FORMS", "CostTables", "SearchLoss", "expected_cost"]


def expected_cost(masks: torch.Tensor, table: torch.Tensor, fixed: float) -> torch.Tensor:
    """``fixed + sum_{l,i} masks[l, i] * table[l, i]``: the cost of the (soft) architecture."""
    return fixed + (masks * table).sum()


@dataclass(frozen=True)
class SearchLoss:
    """The loss of one theta/weight step. Build it with ``from_config``, which rejects
    knobs that cannot work with the cost tensors at hand."""

    form: str = "hanna"
    alpha: float = 0.0
    beta: float = 1.0
    gamma: float = 0.0
    delta: float = 1.0

    @classmethod
    def from_config(
        cls, loss_cfg, cost: CostTensors, *, use_energy: bool = True, lut_name: str = "the LUT"
    ) -> SearchLoss:
        if loss_cfg.form not in LOSS_FORMS:
            raise UserError(f"loss.form: unknown form {loss_cfg.form!r}; expected one of {', '.join(LOSS_FORMS)}")
        for knob in KNOBS:
            value = getattr(loss_cfg, knob)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UserError(f"loss.{knob} must be a finite number >= 0, got {value!r}")
        gamma = loss_cfg.gamma
        if loss_cfg.form == "fbnet":
            if loss_cfg.alpha <= 0:
                raise UserError(
                    "loss.alpha must be > 0 for loss.form fbnet (the loss is CE * alpha * log(LAT)^beta), "
                    f"got {loss_cfg.alpha}"
                )
            lowest = cost.latency_fixed_ms + float(cost.latency_ms.min(dim=1).values.sum())
            if lowest <= 1.0:
                raise UserError(
                    f"loss.form fbnet needs LAT > 1 in the LUT's unit (ms) for log(LAT)^beta, but {lut_name} "
                    f"allows LAT = {lowest:.4g} ms; use loss.form hanna"
                )
            gamma = 0.0  # fbnet ignores energy
        elif not use_energy:
            gamma = 0.0  # lut.energy: false -- the search ignores energy by request
        elif gamma > 0 and not cost.has_energy:
            raise UserError(
                f"loss.gamma={gamma} weighs energy, but {lut_name} has no energy data; "
                f"set loss.gamma=0 or use a LUT with energy"
            )
        return cls(loss_cfg.form, float(loss_cfg.alpha), float(loss_cfg.beta), float(gamma), float(loss_cfg.delta))

    @property
    def uses_energy(self) -> bool:
        return self.form == "hanna" and self.gamma > 0

    def __call__(self, ce: torch.Tensor, lat: torch.Tensor, ener: torch.Tensor | None = None) -> torch.Tensor:
        if self.form == "fbnet":
            return ce * self.alpha * torch.log(lat) ** self.beta
        loss = ce + self.alpha * lat**self.beta
        if self.gamma > 0:
            loss = loss + self.gamma * ener**self.delta
        return loss


class CostTables:
    """The LUT's cost tables on the training device; expected costs under masks or P(op)."""

    def __init__(self, cost: CostTensors, device):
        self.cost = cost
        self.latency = cost.latency_ms.float().to(device)
        self.energy = cost.energy_mj.float().to(device) if cost.has_energy else None

    def latency_of(self, masks):
        return expected_cost(masks, self.latency, self.cost.latency_fixed_ms)

    def energy_of(self, masks):
        return expected_cost(masks, self.energy, self.cost.energy_fixed_mj)

    def expected(self, probs) -> tuple[float, float | None]:
        """Expected latency (ms) and energy (mJ, or None) under the op probabilities."""
        return float(self.latency_of(probs)), float(self.energy_of(probs)) if self.cost.has_energy else None
