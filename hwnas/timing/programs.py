"""Programs lowered once: ``lowered(units, target)`` gives the deployed bytes of many
networks and blocks, lowering what is not on disk yet in parallel processes.

Lowering is slow (``hwnas.timing.lower``: seconds per network) and a LUT profile needs about a
hundred programs, so each one is kept in ``$HWNAS_CACHE/programs`` (default
``~/.cache/hwnas``) under the hash of what it is: the unit (a whole network, the stem,
the head or one block of a space, with its weights' seed), the target and the versions of
torch and the runtime. A profile run again (noisy, or after a crash) lowers nothing twice.

A unit is plain data (a dict, see ``build_unit``), so worker processes rebuild it
themselves: weights from ``torch.manual_seed(seed)``, int8 calibration from seeded
random inputs (``CALIBRATION_SAMPLES``).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import torch

from hwnas.io import atomic_write_bytes
from hwnas.target import SUFFIXES, DeployTarget

__all__ = ["CALIBRATION_SAMPLES", "build_unit", "cache_dir", "lowered", "unit_key"]

CALIBRATION_SAMPLES = 8  # random inputs an int8 unit is calibrated on (real data is for childnets)


def cache_dir(root=None) -> Path:
    return Path(root or os.environ.get("HWNAS_CACHE") or Path.home() / ".cache" / "hwnas") / "programs"


def unit_key(unit: dict, target: DeployTarget) -> str:
    """The file name a unit's program is kept under: what it is and what lowered it."""
    what = {"unit": unit, "target": target.record(), "torch": torch.__version__}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:32]


def build_unit(unit: dict) -> tuple[torch.nn.Module, torch.Tensor]:
    """``(module in eval mode, example input)`` of a unit: ``{"kind": "network", "space":
    definition, "arch": [ops], "seed"}``, ``{"kind": "stem"|"head", "space", "seed"}`` or
    ``{"kind": "block", "space", "layer": index, "op", "seed"}``."""
    from hwnas.network import build_head, build_network, build_stem
    from hwnas.ops import build_op
    from hwnas.space import space_from_definition

    space = space_from_definition(unit["space"])
    torch.manual_seed(unit["seed"])
    kind = unit["kind"]
    if kind == "network":
        module, shape = build_network(space, unit["arch"]), space.input_shape
    elif kind == "stem":
        module, shape = build_stem(space), space.input_shape
    elif kind == "head":
        last = space.layers[-1]
        module, shape = build_head(space), (last.out_channels, last.out_hw, last.out_hw)
    else:
        layer = space.layers[unit["layer"]]
        module = build_op(unit["op"], layer.in_channels, layer.out_channels, layer.stride)
        shape = (layer.in_channels, layer.in_hw, layer.in_hw)
    return module.eval(), torch.randn(1, *shape)


def _lower_to(unit: dict, target: DeployTarget, path: str) -> str:
    from hwnas.timing.lower import lower

    torch.set_num_threads(1)
    module, x = build_unit(unit)
    calibration = None
    if target.precision == "int8":
        gen = torch.Generator().manual_seed(unit["seed"])
        calibration = [torch.randn(CALIBRATION_SAMPLES, *x.shape[1:], generator=gen)]
    atomic_write_bytes(Path(path), lower(module, x, target, calibration))
    return path


def lowered(units: list[dict], target: DeployTarget, *, workers: int | None = None, root=None) -> list[bytes]:
    """The program bytes of every unit, in order; the missing ones lowered in ``workers``
    processes (default: every core, at most one per missing unit)."""
    folder = cache_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{unit_key(u, target)}{SUFFIXES[target.runtime]}" for u in units]
    todo = [(u, p) for u, p in zip(units, paths) if not p.is_file()]
    todo = list({str(p): (u, p) for u, p in todo}.values())  # the same unit twice is lowered once
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    if workers == 1:
        for u, p in todo:
            _lower_to(u, target, str(p))
    elif todo:
        spawn = multiprocessing.get_context("spawn")  # no forked torch/Ray state in the workers
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            for future in [pool.submit(_lower_to, u, target, str(p)) for u, p in todo]:
                future.result()
    return [p.read_bytes() for p in paths]
