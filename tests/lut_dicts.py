"""A version-1 LUT file as an old file on disk has it, key by key, for tests that write and read LUTs."""

from __future__ import annotations

from hwnas.space import get_space


def v1_lut_dict(cell, *, energy_source: str, fixed: dict) -> dict:
    """The fbnet-cpu x0.25 LUT whose layer ``i``, op number ``j`` costs ``cell(i, j)`` (a dict)."""
    space = get_space("fbnet-cpu", width=0.25)
    ops = list(space.ops)
    return {
        "format": "hwnas-lut",
        "version": 1,
        "space": {
            "name": space.name,
            "width": space.width,
            "num_classes": space.num_classes,
            "hash": space.hash(),
            "layers_hash": space.layers_hash(),
            "definition": space.definition(),
        },
        "device": {"name": "test"},
        "energy_source": energy_source,
        "ops": ops,
        "fixed": fixed,
        "layers": [{"index": l.index, "ops": {op: cell(l.index, j) for j, op in enumerate(ops)}} for l in space.layers],
    }
