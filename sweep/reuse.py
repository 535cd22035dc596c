"""Reuse of retrained childnets inside one sweep.

Two trials whose searches found the same architecture would retrain the same network
with the same recipe on the same data and measure it on the same device. The first
trial to finish registers its result under a key of exactly those inputs; a later
trial with the same key copies the result and records ``reused_from`` (the trial that
did the work). Registration is first-writer-wins and atomic (a complete, fsync-ed
temporary file hard-linked to its name), so concurrent trials
never see half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from hwnas.config import ExperimentConfig
from hwnas.io import file_mode
from hwnas.keys import upgrade
from hwnas.stages import stage_key

__all__ = ["ChildRegistry", "child_key"]


def child_key(cfg: ExperimentConfig, ops) -> str:
    """Everything that determines a retrained childnet's metrics: space, architecture,
    data, recipe, LUT and measurement protocol (``hwnas.stages``' child_reuse; not the search
    knobs), hashed into the registry's file name."""
    recipe = {**stage_key("child_reuse", cfg), "ops": list(ops)}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]


class ChildRegistry:
    """``<experiment>/children/<key>.json``: ``{"trial": name, "metrics": {...}}`` (an entry
    from before a key was renamed is read under the new names, ``hwnas.keys``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def lookup(self, key: str) -> dict | None:
        path = self.root / f"{key}.json"
        try:
            return upgrade(json.loads(path.read_text()), "child_entry", str(path))
        except (OSError, ValueError):
            return None

    def register(self, key: str, trial: str, metrics: dict) -> bool:
        """Record ``trial``'s result under ``key`` unless one is there; True if recorded."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=self.root)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"trial": trial, "metrics": metrics}, f, indent=1)
                f.flush()
                os.fsync(f.fileno())  # complete on disk before it becomes visible under its name
            os.chmod(tmp, file_mode())
            os.link(tmp, self.root / f"{key}.json")  # fails if present: first writer wins
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
