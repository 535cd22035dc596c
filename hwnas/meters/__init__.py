"""Energy meters: ``none``, Linux powercap/RAPL, INA219 over I2C, a Raspberry Pi 5's PMIC
(``pmic``), FNIRSI USB meters over HID (``fnirsi``), RDTech UM meters over serial (``um``).

Only torch/stdlib are imported here; hardware is touched when a meter is built. The
sampling meters (pmic, fnirsi, um) can replay a recording of their device instead
(``replay=FILE``, ``hwnas.meters.replay``): their source then says ``replay:<name>``.
"""

from __future__ import annotations

from hwnas.domains import METERS
from hwnas.errors import UserError
from hwnas.meters.base import IDLE_SECONDS, MIN_SAMPLES, Meter, Reading
from hwnas.meters.none import NoMeter

__all__ = ["IDLE_SECONDS", "METERS", "MIN_SAMPLES", "REPLAYABLE", "Meter", "NoMeter", "Reading", "get_meter"]

REPLAYABLE = ("pmic", "fnirsi", "um")


def _sampled_class(name: str):
    if name == "pmic":
        from hwnas.meters.pmic import PmicMeter

        return PmicMeter
    if name == "fnirsi":
        from hwnas.meters.fnirsi import FnirsiMeter

        return FnirsiMeter
    from hwnas.meters.um import UmMeter

    return UmMeter


def get_meter(name: str, replay: str | None = None, replay_speed: float = 1.0) -> Meter:
    """The meter called ``name`` on this machine, or (``replay``) playing a recording of
    its device ``replay_speed`` times faster; ``UserError`` if it is unknown or absent."""
    if name not in METERS:
        raise UserError(f"unknown meter {name!r}; expected one of {', '.join(METERS)}")
    if replay is not None:
        if name not in REPLAYABLE:
            raise UserError(f"--meter-replay: meter {name!r} cannot replay; expected one of {', '.join(REPLAYABLE)}")
        from hwnas.meters.replay import ReplayTransport

        return _sampled_class(name)(ReplayTransport(replay, name, speed=replay_speed))
    if name == "none":
        return NoMeter()
    if name == "rapl":
        from hwnas.meters.rapl import RaplMeter

        return RaplMeter()
    if name == "ina219":
        from hwnas.meters.ina219 import Ina219Meter

        return Ina219Meter()
    return _sampled_class(name)()
