"""Energy meters: ``none``, Linux powercap/RAPL, INA219 over I2C.

Only torch/stdlib are imported here; hardware is touched when a meter is built.
"""

from __future__ import annotations

from hwnas.errors import UserError
from hwnas.meters.base import IDLE_SECONDS, Meter, Reading
from hwnas.meters.none import NoMeter

__all__ = ["IDLE_SECONDS", "METERS", "Meter", "NoMeter", "Reading", "get_meter"]

METERS = ("none", "rapl", "ina219")


def get_meter(name: str) -> Meter:
    """The meter called ``name`` on this machine; ``UserError`` if it is unknown or absent."""
    if name == "none":
        return NoMeter()
    if name == "rapl":
        from hwnas.meters.rapl import RaplMeter

        return RaplMeter()
    if name == "ina219":
        from hwnas.meters.ina219 import Ina219Meter

        return Ina219Meter()
    raise UserError(f"unknown meter {name!r}; expected one of {', '.join(METERS)}")
