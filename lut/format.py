"""The LUT file format: its name, version, energy fields, and the records every
writer builds alike (``lut.profile`` and the converters in ``lut/builtin``). The
format is documented in ``lut/README.md``; reading a file is ``lut.table``.
"""

from __future__ import annotations

from hwnas.domains import ENERGY_KINDS
from hwnas.space import LayerSpec, SearchSpace

__all__ = ["ENERGY_FIELDS", "ENERGY_KINDS", "FORMAT", "FORMAT_VERSION", "header", "layer_record"]

FORMAT = "hwnas-lut"
FORMAT_VERSION = 2  # 2: energy of two kinds (energy_kinds, energy_mj total, energy_dynamic_mj); 1 is still read
# Version 2 spells the two kinds apart: total = what the meter read, dynamic = total - idle power x time.
ENERGY_FIELDS = {"total": "energy_mj", "dynamic": "energy_dynamic_mj"}


def header(space: SearchSpace, batch_size: int = 1) -> dict:
    """The fields a LUT file starts with: format, version, the space (its record and
    definition), the input shape and the batch size its entries were timed at."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "space": {**space.record(), "definition": space.definition()},
        "input_shape": list(space.input_shape),
        "batch_size": batch_size,
    }


def layer_record(layer: LayerSpec, ops: dict, *, shape_key: bool = True) -> dict:
    """One entry of the file's ``layers``: the layer's geometry and its ``ops`` entries
    (``shape_key``: whether to name the shape that entries are shared by)."""
    record = {
        "index": layer.index,
        "in_channels": layer.in_channels,
        "out_channels": layer.out_channels,
        "stride": layer.stride,
        "in_hw": layer.in_hw,
    }
    if shape_key:
        record["shape_key"] = list(layer.shape_key)
    return {**record, "ops": ops}
