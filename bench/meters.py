"""The sampling meters (pmic, fnirsi, um) replaying their recordings (tests/data/meters/) in
real time, as they would read a device: no hardware here, and none was used.

Per meter: ``sps``, the samples per second the meter took replaying its real recording
(pmic: the published captures at one read per 23.9 ms; fnirsi: the synthetic step, the
real FNB48 readings are 0 V and refused; um: the published UM34C readings, 1/s); ``err_pct``,
the error of the dynamic energy of the synthetic step recording (2 W for 3 s over 1 W
idle: 3.0 J), measured as a session does (idle from the lead, then a window holding the
whole step and >= 20 samples); ``min_s``, the minimum timed duration of one measurement
(20 samples at the meter's declared rate). Takes about a minute (um: 2 samples/s).

Last line: ``meters=3 pmic_sps=.. pmic_err_pct=.. fnirsi_sps=.. ... min_s_pmic=..``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hwnas.meters import get_meter

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "meters"
REAL = {"pmic": "pmic-real.json", "fnirsi": "fnirsi-synthetic-step.json", "um": "um-real.json"}
NAMES = ("pmic", "fnirsi", "um")


def samples_per_second(name: str) -> float:
    meter = get_meter(name, replay=str(DATA / REAL[name]))
    seconds = max(2.0, meter.min_seconds)
    meter.start()
    time.sleep(seconds)
    meter.stop()
    return meter.samples_taken() / meter.last_seconds


def step_error_pct(name: str) -> tuple[float, float]:
    """(percent error of the step's dynamic joules, the declared minimum seconds)."""
    path = DATA / f"{name}-synthetic-step.json"
    step = json.loads(path.read_text())["step"]
    meter = get_meter(name, replay=str(path))
    if name == "pmic":
        meter.a, meter.b = 1.0, 0.0  # the recording holds raw rail sums
    idle_w = meter.measure_idle(seconds=step["start_s"] - 1.5)
    t_open = meter.transport.started_at  # the idle measurement's first read began the recording
    margin = max(0.5, (meter.min_seconds - step["seconds"]) / 2 + 0.5)
    time.sleep(max(0.0, t_open + step["start_s"] - margin - time.perf_counter()))
    meter.start()
    time.sleep(step["seconds"] + 2 * margin)
    joules = meter.stop()
    dynamic = joules - idle_w * meter.last_seconds
    expected = (step["step_w"] - step["idle_w"]) * step["seconds"]
    print(f"{name}: idle {idle_w:.4f} W, step {dynamic:.4f} J dynamic (expected {expected:.1f} J), "
          f"{meter.samples_taken()} samples in {meter.last_seconds:.2f} s")  # fmt: skip
    return 100 * abs(dynamic - expected) / expected, meter.min_seconds


def main() -> None:
    out = {"meters": len(NAMES)}
    mins = {}
    for name in NAMES:
        out[f"{name}_sps"] = f"{samples_per_second(name):.1f}"
        err, mins[name] = step_error_pct(name)
        out[f"{name}_err_pct"] = f"{err:.3f}"
    out.update({f"min_s_{name}": f"{s:.2f}" for name, s in mins.items()})
    print(" ".join(f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
