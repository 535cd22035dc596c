"""Files of a run: atomic writes (``hwnas.io``: nothing half-written), checkpoints loaded with
``weights_only=True`` and one clear error when unreadable, the space record of
``docs/formats.md``."""

from __future__ import annotations

from pathlib import Path

import torch

from hwnas.errors import UserError
from hwnas.io import atomic_save, atomic_write_json, atomic_write_text  # re-exported: the writers' one helper
from hwnas.space import SearchSpace

__all__ = ["atomic_save", "atomic_write_json", "atomic_write_text", "load_checkpoint", "space_info", "train_device"]


def load_checkpoint(path, what: str = "checkpoint", required=()) -> dict:
    """``torch.load(weights_only=True)``; an unreadable file or missing keys is a ``UserError``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{what} {path} not found") from None
    except Exception as err:  # zip, pickle, EOF, unsupported global: all mean "not a good file"
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise UserError(f"{path}: corrupt or unreadable {what} ({type(err).__name__}: {first}); "
                        f"delete it to start over") from None
    if not isinstance(state, dict):
        raise UserError(f"{path}: not a {what} (expected a mapping, got {type(state).__name__})")
    missing = [k for k in required if k not in state]
    if missing:
        raise UserError(f"{path}: not a {what} (missing {', '.join(missing)})")
    return state


def space_info(space: SearchSpace) -> dict:
    """The ``space`` record of arch.json / metrics.json."""
    return {"name": space.name, "width": space.width, "num_classes": space.num_classes,
            "hash": space.hash(), "layers_hash": space.layers_hash()}


def train_device() -> torch.device:
    """Where training runs: the GPU when torch sees one (cluster configs), else the CPU.
    (Exact resume is only guaranteed on the CPU: GPU kernels may be nondeterministic.)"""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
