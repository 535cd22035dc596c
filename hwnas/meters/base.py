"""The energy meter interface, and the idle power that splits a reading into total and
dynamic energy."""

from __future__ import annotations

import abc
import time

__all__ = ["IDLE_SECONDS", "MIN_SAMPLES", "MIN_SECONDS", "Meter", "Reading"]

IDLE_SECONDS = 2.0  # long enough for a sampling meter (INA219: ~1000 samples) to average out
MIN_SAMPLES = 20  # a sampling meter's measurement holds at least this many samples
MIN_SECONDS = 0.2  # and lasts at least this long (a sub-millisecond call is below any meter's resolution)


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
    - A sampling meter declares ``sample_rate_hz``; a measurement then lasts at least
      ``min_seconds`` (``MIN_SAMPLES`` samples) and holds ``samples_taken()`` samples.
      ``last_seconds`` is the time its last ``start()``/``stop()`` integrated over (None:
      the caller's clock is the meter's).
    - A meter is also a context manager: ``with meter as reading: ...`` then
      ``reading.joules``.
    """

    source: str = "none"
    idle_w: float | None = None
    sample_rate_hz: float | None = None  # None: a counter (RAPL) or a fast sampler with no floor
    last_seconds: float | None = None

    @property
    def min_seconds(self) -> float:
        """How long one measurement lasts at least: ``MIN_SAMPLES`` samples at the meter's rate."""
        if not self.sample_rate_hz:
            return MIN_SECONDS
        return max(MIN_SECONDS, MIN_SAMPLES / self.sample_rate_hz)

    def samples_taken(self) -> int | None:
        """Samples since ``start()`` (None: not a sampling meter)."""
        return None

    def describe(self) -> dict:
        """What a LUT's ``protocol.energy`` records about this meter beyond its source."""
        return {}

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> float | None: ...

    def measure_idle(self, seconds: float | None = None, clock=time.perf_counter, sleep=time.sleep) -> float | None:
        """The device's idle power (W): the energy of ``seconds`` doing nothing over the
        time it took, kept in ``idle_w``. A later reading of ``J`` joules over ``s``
        seconds then has the dynamic part ``J - idle_w * s``: the HANNA report's "peak
        minus static" (its Pi 3B idled at 0.24 A x 5.1 V = 1.224 W). Default ``seconds``:
        ``IDLE_SECONDS``, or the meter's ``min_seconds`` when that is longer."""
        seconds = max(IDLE_SECONDS, self.min_seconds) if seconds is None else seconds
        t0 = clock()
        self.start()
        sleep(seconds)
        while not self.enough_samples() and clock() - t0 < 10 * seconds:
            sleep(0.05)  # a slow meter: wait for its samples (stop() refuses too few)
        joules = self.stop()
        elapsed = self.last_seconds if self.last_seconds is not None else clock() - t0
        if joules is None:
            return None
        self.idle_w = joules / elapsed
        return self.idle_w

    def enough_samples(self) -> bool:
        """True unless a sampling meter holds fewer than ``MIN_SAMPLES`` samples since ``start()``."""
        taken = self.samples_taken()
        return taken is None or taken >= MIN_SAMPLES

    def __enter__(self) -> Reading:
        self._reading = Reading()
        self.start()
        return self._reading

    def __exit__(self, *exc) -> None:
        self._reading.joules = self.stop()


class Reading:
    """What a ``with meter:`` block measured (filled in on exit)."""

    joules: float | None = None
