"""Cost models: one interface for what an architecture costs on a device.

Implementations: ``Lut`` (LUT-estimated, ``lut.table``), ``TableCost`` (in memory, for
tests) and measured costs (``lut.validate`` builds and times whole networks). Models
(the supernet) never read files: they get ``CostTensors``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import torch

from hwnas.errors import UserError

__all__ = ["CostModel", "CostTensors", "TableCost"]


@dataclass
class CostTensors:
    """Additive costs of a space: ``total(arch) = fixed + sum_l table[l, op_index(arch[l])]``.

    ``op_names`` gives the column order. Energy is ``None`` when the device has no
    energy data. Latency in ms, energy in mJ, of the kind ``energy_kind`` says.
    """

    op_names: tuple[str, ...]
    latency_fixed_ms: float
    latency_ms: torch.Tensor  # (layers, ops)
    energy_fixed_mj: float | None = None
    energy_mj: torch.Tensor | None = None
    energy_source: str = "none"
    energy_kind: str | None = None  # "dynamic" (total - idle power x time) or "total"; None: no energy

    @property
    def has_energy(self) -> bool:
        return self.energy_mj is not None


class CostModel(abc.ABC):
    """What an architecture (one op name per searchable layer) costs.

    Rules: ``latency_ms`` is always positive; ``energy_mj`` is ``None`` when the model
    has no energy data (never a made-up value); ``energy_source`` says where energy
    comes from (``none``, ``rapl``, ``ina219`` or ``model:<name>``).
    """

    energy_source: str = "none"

    @abc.abstractmethod
    def latency_ms(self, ops) -> float: ...

    @abc.abstractmethod
    def energy_mj(self, ops) -> float | None: ...


class TableCost(CostModel):
    """An additive cost model held in memory (tests, and the base of ``Lut``)."""

    def __init__(self, tensors: CostTensors):
        self.tensors = tensors
        self.energy_source = tensors.energy_source
        self._col = {op: i for i, op in enumerate(tensors.op_names)}

    def _index(self, ops) -> torch.Tensor:
        ops = list(ops)
        n = self.tensors.latency_ms.shape[0]
        if len(ops) != n:
            raise UserError(f"architecture has {len(ops)} ops, the cost table has {n} layers")
        try:
            return torch.tensor([self._col[op] for op in ops])
        except KeyError as err:
            raise UserError(
                f"architecture: unknown op {err.args[0]!r}; expected one of {', '.join(self._col)}"
            ) from None

    def latency_ms(self, ops) -> float:
        t = self.tensors
        idx = self._index(ops)
        return float(t.latency_fixed_ms + t.latency_ms[torch.arange(len(idx)), idx].double().sum())

    def energy_mj(self, ops) -> float | None:
        t = self.tensors
        if t.energy_mj is None:
            return None
        idx = self._index(ops)
        return float(t.energy_fixed_mj + t.energy_mj[torch.arange(len(idx)), idx].double().sum())

    def cost_tensors(self) -> CostTensors:
        return self.tensors
