"""Recordings of a meter's raw output, and the transport that plays one back.

A recording (``docs/formats.md``, "Meter recordings") is a JSON file::

    {"format": "hwnas-meter-recording", "version": 1, "meter": "pmic", "synthetic": false,
     "source": "where the frames come from", "frames": [[0.0, "<payload>"], [0.0239, "..."], ...]}

Each frame is ``[seconds since the recording began, payload]``: the text of one
``vcgencmd pmic_read_adc`` (``pmic``) or one device frame as hex (``fnirsi``: a 64-byte
HID packet, ``um``: a 130-byte serial frame). ``ReplayTransport`` delivers the frames at
their recorded times on the meter's clock, in a loop, ``speed`` times faster than
recorded (a faster replay is the same power trace sampled more often: the meter's
rate is the recording's times ``speed``), from the first read: a session's recording starts
when the meter first samples, however long the program took to get there; a recording with ``"loop": false`` plays once
and then holds its last frame at the same cadence (a session that idles, then works).
Loading parses JSON only; a bad field is a one-line ``UserError`` naming it.
"""

from __future__ import annotations

import bisect
import json
import math
import time
from pathlib import Path

from hwnas.errors import UserError

__all__ = ["FORMAT", "ReplayTransport", "load_recording", "save_recording"]

FORMAT = "hwnas-meter-recording"
VERSION = 1
MAX_BYTES = 50 << 20


def _fail(path, field: str, expected: str) -> None:
    raise UserError(f"{path}: {field}: expected {expected}")


def load_recording(path, meter: str) -> dict:
    """The recording at ``path`` for ``meter``, checked field by field."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"meter replay: no such recording {path}")
    if p.stat().st_size > MAX_BYTES:
        _fail(path, "(file)", f"at most {MAX_BYTES >> 20} MiB")
    try:
        data = json.loads(p.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not a JSON meter recording ({err.__class__.__name__}: {str(err)[:80]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        _fail(path, "format", repr(FORMAT))
    if data.get("version") != VERSION:
        _fail(path, "version", f"{VERSION}, got {data.get('version')!r}")
    if data.get("meter") != meter:
        _fail(path, "meter", f"{meter!r} (the meter replaying it), got {data.get('meter')!r}")
    if not isinstance(data.get("synthetic"), bool):
        _fail(path, "synthetic", "true or false")
    frames = data.get("frames")
    if not isinstance(frames, list) or len(frames) < 2:
        _fail(path, "frames", "a list of at least 2 [seconds, payload] pairs")
    last = 0.0
    for i, frame in enumerate(frames):
        ok = isinstance(frame, list) and len(frame) == 2 and isinstance(frame[1], str)
        t = frame[0] if ok else None
        if not ok or isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < last:
            _fail(path, f"frames[{i}]", "[seconds, payload] with seconds >= 0 and not decreasing")
        last = float(t)
    if frames[-1][0] <= frames[0][0]:
        _fail(path, "frames", "timestamps spanning some time")
    return data


def save_recording(path, meter: str, frames: list, *, synthetic: bool, source: str, **extra) -> None:
    """Write a recording (``extra``: more top-level fields, e.g. ``loop``)."""
    data = {"format": FORMAT, "version": VERSION, "meter": meter, "synthetic": synthetic, "source": source, **extra}
    data["frames"] = [[round(t, 6), payload] for t, payload in frames]
    Path(path).write_text(json.dumps(data, indent=0) + "\n")


class ReplayTransport:
    """Plays a recording's frames at their times (looped, ``speed`` x) on ``clock``."""

    def __init__(self, path, meter: str, *, speed: float = 1.0, clock=time.perf_counter, sleep=time.sleep):
        if not (isinstance(speed, (int, float)) and math.isfinite(speed) and speed > 0):
            raise UserError(f"meter replay speed: expected a number > 0, got {speed!r}")
        data = load_recording(path, meter)
        self.path, self.speed, self.clock, self.sleep = str(path), float(speed), clock, sleep
        self.synthetic = data["synthetic"]
        self.loop = data.get("loop", True)
        if not isinstance(self.loop, bool):
            _fail(path, "loop", "true or false")
        self.times = [float(t) for t, _ in data["frames"]]
        self.payloads = [p for _, p in data["frames"]]
        span = self.times[-1] - self.times[0]
        step = span / (len(self.times) - 1)
        self.period = self.times[-1] + step  # a loop keeps the recording's cadence
        self.sample_rate_hz = len(self.times) / self.period * self.speed  # frames per second, as replayed
        self._t_open: float | None = None  # set by the first read
        self._last_v = -math.inf

    @property
    def started_at(self) -> float | None:
        """The clock time the recording began (its first read); None before."""
        return self._t_open

    def describe(self) -> dict:
        return {"file": self.path, "synthetic": self.synthetic, "speed": self.speed}

    def _next(self, after: float) -> tuple[float, int]:
        """The first frame strictly after recording time ``after`` (looped, or the last
        frame held): ``(time, index)``."""
        if not self.loop and after >= self.times[-1]:
            step = self.period - self.times[-1]
            return self.times[-1] + (math.floor((after - self.times[-1]) / step) + 1) * step, len(self.times) - 1
        loop = math.floor(after / self.period)
        i = bisect.bisect_right(self.times, after - loop * self.period)
        if i == len(self.times):
            loop, i = loop + 1, 0
        return loop * self.period + self.times[i], i

    def read(self) -> tuple[float, str]:
        now = self.clock()
        if self._t_open is None:
            self._t_open = now
        now_v = (now - self._t_open) * self.speed
        v, i = self._next(max(self._last_v, now_v))
        self._last_v = v
        due = self._t_open + v / self.speed
        wait = due - self.clock()
        if wait > 0:
            self.sleep(wait)
        return due, self.payloads[i]
