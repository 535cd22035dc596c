"""Fixtures shared by the sweep tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def smoke_lut(tmp_path_factory):
    """A quickly profiled LUT for configs/sweep-smoke.yaml's space (the tests time
    nothing against it; they need a LUT that matches the space)."""
    from hwnas.config import load_config
    from lut import profile_lut, save_lut

    cfg = load_config(ROOT / "configs" / "sweep-smoke.yaml")
    path = tmp_path_factory.mktemp("lut") / "smoke.json"
    save_lut(profile_lut(cfg.search_space(), warmup=1, repeats=3, rounds=1, progress=False), path)
    return path
