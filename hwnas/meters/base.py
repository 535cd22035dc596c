"""The energy meter interface, and the idle power that splits a reading into total and
dynamic energy."""

from __future__ import annotations

import abc
import time

__all__ = ["IDLE_SECONDS", "Meter", "Reading"]

IDLE_SECONDS = 2.0  # long enough for a sampling meter (INA219: ~1000 samples) to average out


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
    - A session (a LUT profile, a measurement phase) starts with ``measure_idle()``: the
      device's static draw, kept in ``idle_w``, so that every later reading has a dynamic
      part (``hwnas.timing.metered_energy``). Readings taken before it have none.
    - A meter is also a context manager: ``with meter as reading: ...`` then
      ``reading.joules``.
    """

    source: str = "none"
    idle_w: float | None = None

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> float | None: ...

    def measure_idle(self, seconds: float = IDLE_SECONDS, clock=time.perf_counter, sleep=time.sleep) -> float | None:
        """The device's idle power (W): the energy of ``seconds`` doing nothing over the
        time it took, kept in ``idle_w``. A later reading of ``J`` joules over ``s``
        seconds then has the dynamic part ``J - idle_w * s``: the HANNA report's "peak
        minus static" (its Pi 3B idled at 0.24 A x 5.1 V = 1.224 W)."""
        t0 = clock()
        self.start()
        sleep(seconds)
        joules = self.stop()
        elapsed = clock() - t0
        if joules is None:
            return None
        self.idle_w = joules / elapsed
        return self.idle_w

    def __enter__(self) -> Reading:
        self._reading = Reading()
        self.start()
        return self._reading

    def __exit__(self, *exc) -> None:
        self._reading.joules = self.stop()


class Reading:
    """What a ``with meter:`` block measured (filled in on exit)."""

    joules: float | None = None
