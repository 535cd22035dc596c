"""``um``: an RDTech UM24C / UM25C / UM34C USB meter over a serial device (``pyserial``):
its Bluetooth serial port bound to ``/dev/rfcommN``, 9600 baud 8N1.

Protocol (sigrokproject/libsigrok, src/hardware/rdtech-um/protocol.c and protocol.h,
GPL-3.0-or-later; sebastianha/um34c): the host sends the byte ``0xf0``; the meter answers
with a 130-byte frame, big-endian fields:

- bytes 0-1 the model: ``0x0963`` UM24C, ``0x09c9`` UM25C, ``0x0d4c`` UM34C
- bytes 2-3 voltage (UM25C: mV; UM24C, UM34C: 10 mV); bytes 4-5 current (UM25C: 0.1 mA;
  others: mA); bytes 10-11 temperature C; bytes 96-97 / 98-99 D+ / D- (10 mV);
  bytes 106-109 the threshold-recorded energy (mWh)
- the end: bytes 128-129 ``0xfff1`` (UM24C, UM25C); the UM34C's last byte is the XOR of
  the bytes at ``UM34C_CSUM_POSITIONS``. A frame failing it is dropped (sigrok skips it).

Over Bluetooth a poll answers in about half a second (sebastianha/um34c polls every
1000 ms by default, at most every 500 ms): the meter declares 2 samples/s, so a
measurement lasts >= 10 s. Power is V x I; a voltage outside 4-5.5 V, a current above
6 A or a power above 30 W is refused.
"""

from __future__ import annotations

import os
import time

from hwnas.errors import UserError
from hwnas.meters.sampled import BadReading, SampledMeter

__all__ = ["SerialTransport", "UmMeter", "decode_frame", "encode_frame"]

FRAME = 130
POLL = b"\xf0"
MODELS = {0x0963: "UM24C", 0x09C9: "UM25C", 0x0D4C: "UM34C"}
UM34C_CSUM_POSITIONS = (1, 3, 7, 9, 15, 17, 19, 23, 31, 39, 41, 45, 49, 53, 55, 57, 59, 63, 67, 69, 73, 79, 83,
                        89, 97, 99, 109, 111, 113, 119, 121, 127)  # fmt: skip
V_RANGE = (4.0, 5.5)
MAX_A, MAX_W = 6.0, 30.0
DEFAULT_DEVICE = "/dev/rfcomm0"


def _scales(model: int) -> tuple[float, float]:
    """(volts per unit, amps per unit) of the model's voltage and current fields."""
    return (0.001, 0.0001) if model == 0x09C9 else (0.01, 0.001)


def _um34c_csum(frame: bytes) -> int:
    csum = 0
    for i in UM34C_CSUM_POSITIONS:
        csum ^= frame[i]
    return csum


def decode_frame(frame: bytes) -> dict | None:
    """``model``, ``voltage``, ``current``, ``temp_c``, ``dp``, ``dn``, ``energy_wh`` of a
    frame; None for a frame of the wrong length, model or end marker/checksum."""
    if len(frame) != FRAME:
        return None
    model = int.from_bytes(frame[0:2], "big")
    if model not in MODELS:
        return None
    ok = _um34c_csum(frame) == frame[-1] if model == 0x0D4C else frame[128:130] == b"\xff\xf1"
    if not ok:
        return None
    v_unit, a_unit = _scales(model)
    u16 = lambda o: int.from_bytes(frame[o : o + 2], "big")  # noqa: E731
    return {
        "model": MODELS[model],
        "voltage": u16(2) * v_unit,
        "current": u16(4) * a_unit,
        "temp_c": u16(10),
        "dp": u16(96) * 0.01,
        "dn": u16(98) * 0.01,
        "energy_wh": int.from_bytes(frame[106:110], "big") * 0.001,
    }


def encode_frame(
    model: str, voltage: float, current: float, temp_c: int = 25, dp: float = 0.0, dn: float = 0.0
) -> bytes:
    """A frame with the documented fields set and the rest zero (the inverse of
    ``decode_frame``): builds recordings."""
    code = next(k for k, v in MODELS.items() if v == model)
    v_unit, a_unit = _scales(code)
    f = bytearray(FRAME)
    f[0:2] = code.to_bytes(2, "big")
    f[2:4] = round(voltage / v_unit).to_bytes(2, "big")
    f[4:6] = round(current / a_unit).to_bytes(2, "big")
    f[10:12] = int(temp_c).to_bytes(2, "big")
    f[96:98] = round(dp / 0.01).to_bytes(2, "big")
    f[98:100] = round(dn / 0.01).to_bytes(2, "big")
    if code == 0x0D4C:
        f[-1] = _um34c_csum(bytes(f))
    else:
        f[128:130] = b"\xff\xf1"
    return bytes(f)


class SerialTransport:
    """The real transport: poll the meter on a serial device (``HWNAS_UM_DEVICE``, default
    ``/dev/rfcomm0``)."""

    def __init__(self, device: str | None = None, clock=time.perf_counter, baud: int = 9600):
        try:
            import serial  # lazy: only a machine with the meter needs pyserial
        except ImportError:
            raise UserError("meter um needs pyserial: pip install 'hwnas[um]'") from None
        device = device or os.environ.get("HWNAS_UM_DEVICE", DEFAULT_DEVICE)
        if not os.path.exists(device):
            raise UserError(
                f"meter um: no such serial device {device} (bind the meter's Bluetooth port: sudo rfcomm bind 0 <MAC>, "
                "or set HWNAS_UM_DEVICE)"
            )
        try:
            self.port = serial.Serial(device, baud, timeout=2.0)
        except (serial.SerialException, OSError) as err:
            raise UserError(f"meter um: cannot open {device} ({str(err)[:120]})") from None
        self.clock = clock

    def begin(self) -> None:
        self.port.reset_input_buffer()

    def read(self) -> tuple[float, bytes]:
        self.port.write(POLL)
        frame = self.port.read(FRAME)
        if len(frame) != FRAME:
            raise TimeoutError(f"{len(frame)} of {FRAME} bytes in 2 s")
        return self.clock(), frame

    def close(self) -> None:
        self.port.close()


class UmMeter(SampledMeter):
    name = "um"
    nominal_rate_hz = 2.0

    def __init__(self, transport=None, *, clock=time.perf_counter):
        super().__init__(transport if transport is not None else SerialTransport(clock=clock), clock=clock)

    def decode(self, t: float, payload) -> list[tuple[float, float]]:
        frame = bytes.fromhex(payload) if isinstance(payload, str) else bytes(payload)
        reading = decode_frame(frame)
        if reading is None:
            return []
        v, a = reading["voltage"], reading["current"]
        if not V_RANGE[0] <= v <= V_RANGE[1]:
            raise BadReading(f"voltage {v:.3f} V outside {V_RANGE[0]:g}-{V_RANGE[1]:g} V (USB 5 V)")
        if a > MAX_A or v * a > MAX_W:
            raise BadReading(f"{a:.4f} A at {v:.3f} V is above {MAX_A:g} A or {MAX_W:g} W")
        return [(t, v * a)]
