"""The energy meter interface."""

from __future__ import annotations

import abc

__all__ = ["Meter"]


class Meter(abc.ABC):
    """Reads the energy a device spends between ``start()`` and ``stop()``.

    Rules for implementations:
    - ``stop()`` returns joules measured by real hardware since the matching ``start()``;
      never a modeled or guessed value. A meter that cannot measure returns ``None``
      (only the ``none`` meter does that).
    - ``source`` names the hardware (``rapl``, ``ina219``) and is what LUTs and
      ``metrics.json`` record as ``energy_source``; ``none`` means no measurement.
    - Counters that wrap around are unwrapped inside the meter.
    - Importing a meter module never touches hardware; constructing one may, and raises
      ``hwnas.errors.UserError`` (one line) when the hardware is missing.
    - A meter is also a context manager: ``with meter as reading: ...`` then
      ``reading.joules``.
    """

    source: str = "none"

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> float | None: ...

    def __enter__(self) -> "Reading":
        self._reading = Reading()
        self.start()
        return self._reading

    def __exit__(self, *exc) -> None:
        self._reading.joules = self.stop()


class Reading:
    """What a ``with meter:`` block measured (filled in on exit)."""

    joules: float | None = None
