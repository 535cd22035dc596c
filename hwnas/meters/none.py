"""``none``: the meter of a device without an energy sensor."""

from __future__ import annotations

from hwnas.meters.base import Meter

__all__ = ["NoMeter"]


class NoMeter(Meter):
    """Measures nothing: ``stop()`` returns ``None``, so energy stays null."""

    source = "none"

    def start(self) -> None:
        pass

    def stop(self) -> None:
        return None
