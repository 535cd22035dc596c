"""Latency and energy lookup tables (LUTs): profile, estimate, validate.

The format is documented in ``lut/README.md``. ``hwnas`` is all this package imports
of the project. ``profile_lut`` is loaded on first use so that ``python -m lut.profile``
does not import its own module twice (runpy warns and runs a second copy).
"""

from lut.cache import cache_path, ensure_lut, experiment_lut, lut_noise
from lut.cost import CostModel, CostTensors, TableCost
from lut.table import Lut, builtin_names, load_lut, save_lut

__all__ = [
    "CostModel",
    "CostTensors",
    "Lut",
    "TableCost",
    "builtin_names",
    "cache_path",
    "ensure_lut",
    "experiment_lut",
    "load_lut",
    "lut_noise",
    "profile_lut",
    "save_lut",
]


def __getattr__(name):
    if name == "profile_lut":
        from lut.profile import profile_lut

        return profile_lut
    raise AttributeError(f"module 'lut' has no attribute {name!r}")
