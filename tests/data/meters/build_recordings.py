"""Writes the meter recordings of this folder (see README.md): the real ones from the
published device output cited there, and the synthetic power steps in each meter's
frame format. Run from the repository root: ``python tests/data/meters/build_recordings.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hwnas.meters.base import IDLE_SECONDS, MIN_SAMPLES
from hwnas.meters.fnirsi import encode_packet
from hwnas.meters.replay import save_recording
from hwnas.meters.um import encode_frame

HERE = Path(__file__).parent

# `vcgencmd pmic_read_adc` on a Pi 5, verbatim: jfikar/RPi5-power README.md (heavy load)
PMIC_JFIKAR = """\
 3V7_WL_SW_A current(0)=0.00000000A
   3V3_SYS_A current(1)=0.06245952A
   1V8_SYS_A current(2)=0.16102850A
  DDR_VDD2_A current(3)=0.00780744A
  DDR_VDDQ_A current(4)=0.00000000A
   1V1_SYS_A current(5)=0.17566740A
    0V8_SW_A current(6)=0.32791250A
  VDD_CORE_A current(7)=10.87674000A
   3V3_DAC_A current(17)=0.00036630A
   3V3_ADC_A current(18)=0.00042735A
   0V8_AON_A current(16)=0.00579975A
      HDMI_A current(22)=0.01367520A
 3V7_WL_SW_V volt(8)=3.79999600V
   3V3_SYS_V volt(9)=3.30632200V
   1V8_SYS_V volt(10)=1.79828900V
  DDR_VDD2_V volt(11)=1.10292900V
  DDR_VDDQ_V volt(12)=0.60476130V
   1V1_SYS_V volt(13)=1.10439400V
    0V8_SW_V volt(14)=0.80256330V
  VDD_CORE_V volt(15)=0.89745940V
   3V3_DAC_V volt(20)=3.30494200V
   3V3_ADC_V volt(21)=3.30219400V
   0V8_AON_V volt(19)=0.79736190V
      HDMI_V volt(23)=5.07056000V
     EXT5V_V volt(24)=5.06788000V
      BATT_V volt(25)=3.01110800V
"""

# the same command on a Pi 5 Model B Rev 1.0 with four busy cores, verbatim:
# ml-energy/zeus tests/device/machine/test_rpi.py (PMIC_OUTPUT)
PMIC_ZEUS = """\
 3V7_WL_SW_A current(0)=0.09368929A
   3V3_SYS_A current(1)=0.08783370A
   1V8_SYS_A current(2)=0.18054710A
  DDR_VDD2_A current(3)=0.22543980A
  DDR_VDDQ_A current(4)=0.06666720A
   1V1_SYS_A current(5)=0.17566740A
    0V8_SW_A current(6)=0.37670900A
  VDD_CORE_A current(7)=6.22421000A
   3V3_DAC_A current(17)=0.00006105A
   3V3_ADC_A current(18)=0.00036630A
   0V8_AON_A current(16)=0.00305250A
      HDMI_A current(22)=0.02417580A
 3V7_WL_SW_V volt(8)=3.69977600V
   3V3_SYS_V volt(9)=3.31003300V
   1V8_SYS_V volt(10)=1.80512600V
  DDR_VDD2_V volt(11)=1.10476100V
  DDR_VDDQ_V volt(12)=0.60146460V
   1V1_SYS_V volt(13)=1.11025500V
    0V8_SW_V volt(14)=0.80146440V
  VDD_CORE_V volt(15)=0.86173300V
   3V3_DAC_V volt(20)=3.31318300V
   3V3_ADC_V volt(21)=3.30677300V
   0V8_AON_V volt(19)=0.80029220V
      HDMI_V volt(23)=5.08664000V
     EXT5V_V volt(24)=5.09066000V
      BATT_V volt(25)=0.00000000V
"""
PMIC_READ_S = 0.0239  # one vcgencmd call on a Pi 5 (ml-energy/zeus, zeus/device/machine/rpi.py)

# fnirsi_logger.py's output on a FNB48 with nothing plugged in (0 V): baryluk/fnirsi-usb-power-data-logger
# README.md; columns voltage_V current_A dp_V dn_V temp_C (the EMA is 30.500 throughout)
FNB48_README = [
    (0.00000, 0.00011, 1.184, 1.031), (0.00000, 0.00000, 1.184, 1.033), (0.00000, 0.00011, 1.184, 1.030),
    (0.00000, 0.00000, 1.184, 1.031), (0.00000, 0.00011, 1.185, 1.032), (0.00000, 0.00000, 1.184, 1.029),
    (0.00000, 0.00000, 1.184, 1.029), (0.00000, 0.00000, 1.188, 1.042),
]  # fmt: skip

# app.js -c output of a UM34C over Bluetooth: sebastianha/um34c README.md (timestamp ms, voltage, current,
# temperature C, D+, D-)
UM34C_README = [
    (1589300924385, 5.19, 0, 21, 0, 0), (1589300925378, 5.19, 0, 21, 0, 0), (1589300926367, 5.19, 0, 21, 0, 0),
    (1589300927352, 5.19, 0, 21, 0, 0), (1589300928361, 5.19, 0, 21, 0.01, 0), (1589300929355, 5.19, 0, 21, 0.01, 0),
    (1589300930340, 5.19, 0, 21, 0.01, 0), (1589300931343, 5.19, 0, 21, 0.01, 0), (1589300932338, 5.19, 0, 21, 0, 0),
    (1589300933327, 5.19, 0, 21, 0, 0), (1589300934486, 5.19, 0, 21, 0.01, 0), (1589300935322, 5.19, 0, 21, 0.01, 0),
]  # fmt: skip

STEP = {"idle_w": 1.0, "step_w": 2.0, "seconds": 3.0}  # a 2 W step over 1 W idle for 3 s: 3.0 J dynamic


def _real():
    save_recording(
        HERE / "pmic-real.json", "pmic", [(0.0, PMIC_JFIKAR), (PMIC_READ_S, PMIC_ZEUS)], synthetic=False,
        source="verbatim vcgencmd pmic_read_adc captures: jfikar/RPi5-power README.md; ml-energy/zeus "
        "tests/device/machine/test_rpi.py. Timestamps ours: one read per 23.9 ms (zeus rpi.py)",
    )  # fmt: skip
    samples = [{"voltage": v, "current": a, "dp": dp, "dn": dn, "temp_c": 30.5} for v, a, dp, dn in FNB48_README]
    frames = [(0.04 * i, encode_packet(samples[4 * i : 4 * i + 4]).hex()) for i in range(2)]
    save_recording(
        HERE / "fnirsi-real-0v.json", "fnirsi", frames, synthetic=False,
        source="fnirsi_logger.py output of a FNB48 (nothing plugged in: 0 V) from baryluk/fnirsi-usb-power-data-logger "
        "README.md, re-encoded into the HID data packet of fnirsi_logger.py; 4 samples per packet at 100/s",
    )  # fmt: skip
    t0 = UM34C_README[0][0]
    frames = [((ms - t0) / 1000, encode_frame("UM34C", v, a, t, dp, dn).hex()) for ms, v, a, t, dp, dn in UM34C_README]
    save_recording(
        HERE / "um-real.json", "um", frames, synthetic=False,
        source="UM34C readings over Bluetooth with their timestamps from sebastianha/um34c README.md (app.js -c), "
        "re-encoded into the 130-byte frame of sigrok's rdtech-um driver",
    )  # fmt: skip


def _step_layout(rate_hz: float) -> tuple[float, float]:
    """(step start, recording length): an idle lead long enough for the idle measurement
    and a measurement window of MIN_SAMPLES samples around the step, then an idle tail."""
    min_s = max(0.2, MIN_SAMPLES / rate_hz)
    margin = max(1.0, (min_s - STEP["seconds"]) / 2 + 1.0)
    start = max(IDLE_SECONDS, min_s) + 1.0 + margin
    return start, start + STEP["seconds"] + margin + 1.0


def _power(t: float, start: float) -> float:
    return STEP["step_w"] if start <= t < start + STEP["seconds"] - 1e-9 else STEP["idle_w"]


def _synthetic():
    note = "SYNTHETIC: {w} step built in the device's real frame format (not a measurement)"
    # pmic: VDD_CORE at 0.8 V carrying the power, in pmic_read_adc's line format (raw rail sum; the bench
    # reads it with a=1, b=0)
    rate = 40.0
    start, length = _step_layout(rate)
    text = "  VDD_CORE_A current(7)={a:.8f}A\n  VDD_CORE_V volt(15)=0.80000000V\n     EXT5V_V volt(24)=5.10000000V\n"
    frames = [(i / rate, text.format(a=_power(i / rate, start) / 0.8)) for i in range(round(length * rate))]
    save_recording(HERE / "pmic-synthetic-step.json", "pmic", frames, synthetic=True, source=note.format(w="pmic"))
    # fnirsi: 5.0 V, 0.2 A / 0.4 A, packets of 4 samples at 100/s
    rate = 100.0
    start, length = _step_layout(rate)
    frames = []
    for k in range(round(length * rate / 4)):
        times = [(4 * k + i) / rate for i in range(4)]
        samples = [{"voltage": 5.0, "current": _power(t, start) / 5.0, "dp": 0.6, "dn": 0.6} for t in times]
        frames.append((times[-1], encode_packet(samples).hex()))
    save_recording(
        HERE / "fnirsi-synthetic-step.json", "fnirsi", frames, synthetic=True, source=note.format(w="fnirsi")
    )
    # um: a UM25C (1 mV, 0.1 mA) at 2 samples/s
    rate = 2.0
    start, length = _step_layout(rate)
    frames = [
        (i / rate, encode_frame("UM25C", 5.0, _power(i / rate, start) / 5.0).hex()) for i in range(round(length * rate))
    ]
    save_recording(HERE / "um-synthetic-step.json", "um", frames, synthetic=True, source=note.format(w="um"))
    for name in ("pmic", "fnirsi", "um"):  # the step's place, for bench/meters.py
        path = HERE / f"{name}-synthetic-step.json"
        data = json.loads(path.read_text())
        rate = {"pmic": 40.0, "fnirsi": 100.0, "um": 2.0}[name]
        data["step"] = {**STEP, "start_s": _step_layout(rate)[0]}
        path.write_text(json.dumps(data, indent=0) + "\n")


# a session: idle 1 W for the idle measurement (IDLE_SECONDS = 2 s from the first read) and 0.1 s more
# at the speed the tests replay it, then 2 W held: every later window (>= 0.2 s) ends above idle
SESSION = {"pmic": (40.0, 10.5, 5), "fnirsi": (100.0, 10.5, 5), "um": (2.0, 105.0, 50)}  # rate, idle s, speed


def _session():
    for name, (rate, lead, speed) in SESSION.items():
        frames = []
        for i in range(round((lead + 1.0) * rate / (4 if name == "fnirsi" else 1))):
            if name == "fnirsi":
                times = [(4 * i + k) / rate for k in range(4)]
                power = [1.0 if t < lead else 2.0 for t in times]
                samples = [{"voltage": 5.0, "current": p / 5.0, "dp": 0.6, "dn": 0.6} for p in power]
                frames.append((times[-1], encode_packet(samples).hex()))
                continue
            t = i / rate
            watts = 1.0 if t < lead else 2.0
            if name == "pmic":
                frames.append((t, f"  VDD_CORE_A current(7)={watts / 0.8:.8f}A\n  VDD_CORE_V volt(15)=0.80000000V\n"))
            else:
                frames.append((t, encode_frame("UM25C", 5.0, watts / 5.0).hex()))
        save_recording(
            HERE / f"{name}-synthetic-session.json", name, frames, synthetic=True, loop=False,
            source=f"SYNTHETIC: {name} idle 1 W for {lead:g} s then 2 W held (loop false), in the device's frame "
            f"format (not a measurement); for end-to-end checks replayed at {speed}x",
        )  # fmt: skip


if __name__ == "__main__":
    _real()
    _synthetic()
    _session()
