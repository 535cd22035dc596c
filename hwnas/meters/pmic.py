"""``pmic``: a Raspberry Pi 5's own power monitor, read with ``vcgencmd pmic_read_adc``.

The Pi 5's PMIC reports the current (``<RAIL>_A current(n)=...A``) and voltage
(``<RAIL>_V volt(n)=...V``) of 12 rails; ``EXT5V_V`` (the 5 V input) and ``BATT_V``
(the RTC battery) have no current and are skipped. The sum of V x I over the rails
misses what the PMIC does not feed (the 5 V rail: USB devices, HATs, NVMe) and its
own conversion losses, so a per-board linear calibration maps it to the board's draw:
``watts = a * pmic_sum + b``. Defaults ``a = 1.1451``, ``b = 0.5879``: the fit
jfikar/RPi5-power (README.md) published from one Pi 5 measured with a USB-C power
meter at several loads; set your own with ``HWNAS_PMIC_A`` / ``HWNAS_PMIC_B`` (fit
your board against a USB meter; ``a=1, b=0`` is the raw rail sum). ``b`` cancels in
dynamic energy (the idle power holds it too); ``a`` scales both kinds.

One ``vcgencmd`` call took 23.9 ms on a Pi 5 (ml-energy/zeus, zeus/device/machine/rpi.py,
measured over 50 reads), so the meter samples at about 40/s: a measurement lasts
>= 0.5 s (20 samples). A calibrated reading outside 0-30 W (a Pi 5's supply gives at
most 27 W) is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from hwnas.errors import UserError
from hwnas.meters.sampled import BadReading, SampledMeter

__all__ = ["DEFAULT_A", "DEFAULT_B", "MAX_W", "PmicMeter", "VcgencmdReader", "calibration", "parse_pmic", "rail_sum"]

DEFAULT_A, DEFAULT_B = 1.1451, 0.5879  # jfikar/RPi5-power README: USB-C meter vs PMIC sum, one Pi 5
MAX_W = 30.0
_LINE = re.compile(r"^\s*(?P<rail>\S+?)_(?P<kind>[AV])\s+(?:current|volt)\(\d+\)=(?P<value>[-+0-9.eE]+|nan)[AV]\s*$")


def parse_pmic(text: str) -> dict[str, tuple[float, float]]:
    """``{rail: (volts, amps)}`` for every rail with both a current and a voltage line."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            (amps if m["kind"] == "A" else volts)[m["rail"]] = float(m["value"])
    return {rail: (volts[rail], amps[rail]) for rail in sorted(amps.keys() & volts.keys())}


def rail_sum(text: str) -> float:
    """Sum of V x I over the rails of one ``pmic_read_adc`` output; ``BadReading`` for
    an output with no rails or a negative or non-finite value."""
    rails = parse_pmic(text)
    if not rails:
        raise BadReading("pmic_read_adc output has no rail with both a current and a voltage")
    for rail, (v, a) in rails.items():
        if not (0 <= v < 100 and 0 <= a < 100):  # also refuses nan
            raise BadReading(f"rail {rail}: {v} V, {a} A is not a physical reading")
    return sum(v * a for v, a in rails.values())


def calibration(environ=os.environ) -> tuple[float, float]:
    """``(a, b)`` from ``HWNAS_PMIC_A`` / ``HWNAS_PMIC_B`` (defaults above)."""
    out = []
    for name, default in (("HWNAS_PMIC_A", DEFAULT_A), ("HWNAS_PMIC_B", DEFAULT_B)):
        raw = environ.get(name)
        try:
            value = default if raw is None else float(raw)
        except ValueError:
            raise UserError(f"{name}: expected a number, got {raw!r}") from None
        if not -10 < value < 10:
            raise UserError(f"{name}: expected a number between -10 and 10, got {raw!r}")
        out.append(value)
    if out[0] <= 0:
        raise UserError(f"HWNAS_PMIC_A: the slope must be > 0, got {out[0]}")
    return out[0], out[1]


class VcgencmdReader:
    """The real transport: one ``vcgencmd pmic_read_adc`` per read."""

    def __init__(self, vcgencmd: str = "vcgencmd", clock=time.perf_counter, timeout_s: float = 5.0):
        path = shutil.which(vcgencmd)
        if path is None:
            raise UserError(
                f"meter pmic: no {vcgencmd} on this machine (it comes with Raspberry Pi OS; the pmic meter "
                "needs a Raspberry Pi 5)"
            )
        self.argv, self.clock, self.timeout_s = [path, "pmic_read_adc"], clock, timeout_s

    def read(self) -> tuple[float, str]:
        try:
            proc = subprocess.run(self.argv, capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired as err:
            raise TimeoutError(f"vcgencmd pmic_read_adc took over {self.timeout_s} s") from err
        if proc.returncode != 0:
            raise OSError(f"vcgencmd pmic_read_adc exited {proc.returncode}: {proc.stderr.strip()[:100]}")
        return self.clock(), proc.stdout


class PmicMeter(SampledMeter):
    name = "pmic"
    nominal_rate_hz = 40.0  # 1 / 23.9 ms per vcgencmd call (ml-energy/zeus), rounded down

    def __init__(self, transport=None, *, a: float | None = None, b: float | None = None, clock=time.perf_counter):
        env_a, env_b = calibration()
        self.a = env_a if a is None else a
        self.b = env_b if b is None else b
        if transport is None:
            transport = VcgencmdReader(clock=clock)
            _, text = transport.read()
            try:
                rail_sum(text)
            except BadReading as err:
                raise UserError(f"meter pmic: {err} (not a Raspberry Pi 5?)") from None
        super().__init__(transport, clock=clock)

    def watts(self, text: str) -> float:
        """The board's calibrated power from one ``pmic_read_adc`` output."""
        watts = self.a * rail_sum(text) + self.b
        if not 0 <= watts <= MAX_W:
            raise BadReading(f"reading {watts:.3f} W outside 0-{MAX_W:g} W (a Raspberry Pi 5 draws at most 27 W)")
        return watts

    def decode(self, t: float, payload: str) -> list[tuple[float, float]]:
        return [(t, self.watts(payload))]

    def describe(self) -> dict:
        return {**super().describe(), "calibration": {"a": self.a, "b": self.b, "watts": "a * sum(V x I) + b"}}
