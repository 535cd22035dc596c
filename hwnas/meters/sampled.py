"""Meters that sample a power reading off a device (``pmic``, ``fnirsi``, ``um``).

A *transport* delivers the device's raw responses: ``read() -> (time, payload)`` (the
meter's clock when the response arrived; the text of ``vcgencmd pmic_read_adc``, a
64-byte HID packet, a 130-byte serial frame), optional ``begin()`` (called at each
``start()``: drop stale data) and ``close()``. The real transports talk to hardware;
``hwnas.meters.replay.ReplayTransport`` plays a recording of one. The meter decodes
each payload into ``(time, watts)`` samples in a background thread that runs only
between ``start()`` and ``stop()`` (sampling must not disturb the latency timings
around it), refuses readings outside physical bounds, and integrates power over its
own window (trapezoid rule; the first and last readings held to the window's edges).
"""

from __future__ import annotations

import abc
import threading
import time

from hwnas.errors import UserError
from hwnas.meters.base import MIN_SAMPLES, Meter
from hwnas.meters.ina219 import integrate_power

__all__ = ["BadReading", "SampledMeter", "window_energy"]


class BadReading(ValueError):
    """A reading outside physical bounds, or a response that cannot be decoded."""


def window_energy(samples: list, t0: float, t1: float) -> float:
    """Joules over ``[t0, t1]`` from ``(time, watts)`` samples, each held to the edges."""
    inside = [(t, w) for t, w in samples if t0 <= t <= t1] or samples[-1:]
    points = [(t0, inside[0][1]), *inside, (t1, inside[-1][1])]
    return integrate_power([t for t, _ in points], [w for _, w in points])


class SampledMeter(Meter):
    """The sampling thread, the window and the refusals; subclasses decode payloads.

    ``name``: the meter (``pmic``); ``nominal_rate_hz``: the device's samples per
    second. ``replay``: the transport plays a recording (the source says so:
    ``replay:<name>`` instead of ``meter:<name>``, and the rate is the recording's).
    """

    name: str = ""
    nominal_rate_hz: float = 1.0

    def __init__(self, transport, *, clock=time.perf_counter):
        self.transport, self.clock = transport, clock
        replay_rate = getattr(transport, "sample_rate_hz", None)
        self.replay = replay_rate is not None
        self.source = f"{'replay' if self.replay else 'meter'}:{self.name}"
        self.sample_rate_hz = replay_rate * self.samples_per_payload if self.replay else self.nominal_rate_hz
        self._thread = None
        self._samples: list = []

    samples_per_payload = 1

    @abc.abstractmethod
    def decode(self, t: float, payload) -> list[tuple[float, float]]:
        """``(time, watts)`` samples of one payload; ``BadReading`` for a refused one."""

    def describe(self) -> dict:
        out = {"sample_rate_hz": self.sample_rate_hz, "min_samples": MIN_SAMPLES, "min_seconds": self.min_seconds}
        if self.replay:
            out["replay"] = getattr(self.transport, "describe", dict)()
        return out

    def samples_taken(self) -> int:
        return len(self._samples)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                t, payload = self.transport.read()
                self._samples.extend(self.decode(t, payload))
            except BadReading as err:
                self._error = f"meter {self.name}: {err}; measurement refused"
                return
            except (OSError, TimeoutError, ValueError) as err:
                self._error = f"meter {self.name}: lost the device ({err.__class__.__name__}: {str(err)[:120]})"
                return

    def start(self) -> None:
        self._samples, self._error = [], None
        self._stop = threading.Event()
        begin = getattr(self.transport, "begin", None)
        if begin is not None:
            begin()
        self._t0 = self.clock()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        if self._thread is None:
            raise RuntimeError(f"{type(self).__name__}.stop() without start()")
        t1 = self.clock()
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.last_seconds = t1 - self._t0
        if self._error:
            raise UserError(self._error)
        samples = sorted(self._samples)
        if len(samples) < MIN_SAMPLES:
            raise UserError(
                f"meter {self.name}: {len(samples)} samples in {self.last_seconds:.2f} s, expected >= {MIN_SAMPLES} "
                f"at {self.sample_rate_hz:g}/s: is the meter still connected?"
            )
        return window_energy(samples, self._t0, t1)

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()
