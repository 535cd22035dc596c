"""Analytical energy models, for devices without an energy meter.

A model's estimates are labeled ``energy_source: "model:<name>"`` and are never
presented as measurements.

``horowitz45nm``: energy = MACs * E_mac + bytes moved * E_byte, with the 45 nm,
0.9 V numbers of M. Horowitz, "Computing's energy problem (and what we can do about
it)", ISSCC 2014, p. 10-14 (Table "Rough energy costs for various operations"):

- 32-bit float multiply 3.7 pJ + 32-bit float add 0.9 pJ  -> E_mac = 4.6 pJ
- 64-bit read from a 1 MB cache: 100 pJ                   -> E_byte = 12.5 pJ

Bytes moved counts, for every leaf module, its parameters and buffers plus its input
and output activations once (fp32), i.e. every tensor goes through a cache of about
1 MB once. DRAM traffic (1.3-2.6 nJ per 64 bit in the same table) is not modeled:
at batch 1 a layer's working set fits in cache. The model ranks architectures by
arithmetic and data movement; absolute values are an order-of-magnitude estimate.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

from hwnas.errors import UserError
from hwnas.flops import count_macs

__all__ = ["EnergyModel", "Horowitz45nm", "count_bytes_moved", "get_energy_model"]


def count_bytes_moved(module: nn.Module, example_input: torch.Tensor) -> int:
    """Parameter/buffer bytes plus input and output activation bytes of every leaf module."""
    total = 0

    def hook(mod, inputs, output):
        nonlocal total
        tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
        tensors += [output] if isinstance(output, torch.Tensor) else []
        tensors += list(mod.parameters(recurse=False)) + list(mod.buffers(recurse=False))
        total += sum(t.numel() * t.element_size() for t in tensors)

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            module(example_input)
    finally:
        for h in handles:
            h.remove()
    return total


class EnergyModel(abc.ABC):
    """Estimated energy (mJ) of one forward pass. ``source`` is ``model:<name>``."""

    name: str

    @property
    def source(self) -> str:
        return f"model:{self.name}"

    @abc.abstractmethod
    def energy_from_counts(self, macs: int, bytes_moved: int) -> float:
        """mJ from a module's MACs and bytes moved (``count_macs``, ``count_bytes_moved``)."""

    def energy_mj(self, module: nn.Module, example_input: torch.Tensor) -> float:
        return self.energy_from_counts(count_macs(module, example_input), count_bytes_moved(module, example_input))

    def describe(self) -> dict:
        return {"name": self.name}


class Horowitz45nm(EnergyModel):
    name = "horowitz45nm"
    mac_pj = 3.7 + 0.9
    byte_pj = 100.0 / 8

    def energy_from_counts(self, macs: int, bytes_moved: int) -> float:
        return (macs * self.mac_pj + bytes_moved * self.byte_pj) * 1e-9

    def describe(self) -> dict:
        return {
            "name": self.name,
            "mac_pj": self.mac_pj,
            "byte_pj": self.byte_pj,
            "reference": "M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm, 0.9 V)",
        }


_MODELS = {"horowitz45nm": Horowitz45nm}


def get_energy_model(name: str) -> EnergyModel:
    if name not in _MODELS:
        raise UserError(f"unknown energy model {name!r}; expected one of {', '.join(_MODELS)}")
    return _MODELS[name]()
