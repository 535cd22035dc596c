"""TI INA219 current/power monitor over I2C (e.g. on a Raspberry Pi's supply line).

Register maps and formulas are from the TI datasheet (SBOS448, "Register Maps" and
"Programming the Calibration Register"):

- calibration register ``cal = trunc(0.04096 / (current_lsb * r_shunt))``
- shunt voltage register: signed 16 bit, LSB 10 uV
- bus voltage register: bits 15..3, LSB 4 mV (bit 1 CNVR, bit 0 OVF)
- current register: signed, LSB ``current_lsb``
- power register: unsigned, LSB ``20 * current_lsb`` (watts)

Registers are big-endian 16-bit words. The meter samples the power register in a
background thread and integrates power over time (trapezoid rule) into joules.
``smbus2`` is imported only when the real bus is opened (``pip install .[ina219]``).
"""

from __future__ import annotations

import os
import threading
import time

from hwnas.errors import UserError
from hwnas.meters.base import Meter

__all__ = [
    "INA219",
    "Ina219Meter",
    "calibration_value",
    "decode_bus_voltage",
    "decode_current",
    "decode_power",
    "decode_shunt_voltage",
    "integrate_power",
]

REG_CONFIG, REG_SHUNT, REG_BUS, REG_POWER, REG_CURRENT, REG_CALIBRATION = range(6)
SHUNT_LSB_V = 10e-6
BUS_LSB_V = 4e-3


def calibration_value(current_lsb_a: float, r_shunt_ohm: float) -> int:
    value = int(0.04096 / (current_lsb_a * r_shunt_ohm))
    if not 0 < value < 1 << 16:
        raise UserError(
            f"meter ina219: calibration {value} out of range for current_lsb={current_lsb_a} A, "
            f"r_shunt={r_shunt_ohm} ohm"
        )
    return value


def _signed16(raw: int) -> int:
    return raw - (1 << 16) if raw & 0x8000 else raw


def decode_shunt_voltage(raw: int) -> float:
    return _signed16(raw) * SHUNT_LSB_V


def decode_bus_voltage(raw: int) -> float:
    return (raw >> 3) * BUS_LSB_V


def decode_current(raw: int, current_lsb_a: float) -> float:
    return _signed16(raw) * current_lsb_a


def decode_power(raw: int, current_lsb_a: float) -> float:
    return raw * 20 * current_lsb_a


def integrate_power(times_s, watts) -> float:
    """Joules from power samples at the given times (trapezoid rule)."""
    return sum((t1 - t0) * (p0 + p1) / 2 for t0, t1, p0, p1 in zip(times_s, times_s[1:], watts, watts[1:]))


class INA219:
    """The chip on an SMBus-like ``bus`` (``read_i2c_block_data``/``write_i2c_block_data``,
    as ``smbus2.SMBus`` has). Writes the calibration register on construction."""

    def __init__(self, bus, address: int = 0x40, r_shunt_ohm: float = 0.1, current_lsb_a: float = 1e-4):
        self.bus, self.address, self.current_lsb_a = bus, address, current_lsb_a
        self.calibration = calibration_value(current_lsb_a, r_shunt_ohm)
        self._write(REG_CALIBRATION, self.calibration)

    def _read(self, reg: int) -> int:
        hi, lo = self.bus.read_i2c_block_data(self.address, reg, 2)
        return (hi << 8) | lo

    def _write(self, reg: int, value: int) -> None:
        self.bus.write_i2c_block_data(self.address, reg, [(value >> 8) & 0xFF, value & 0xFF])

    def bus_voltage_v(self) -> float:
        return decode_bus_voltage(self._read(REG_BUS))

    def shunt_voltage_v(self) -> float:
        return decode_shunt_voltage(self._read(REG_SHUNT))

    def current_a(self) -> float:
        return decode_current(self._read(REG_CURRENT), self.current_lsb_a)

    def power_w(self) -> float:
        return decode_power(self._read(REG_POWER), self.current_lsb_a)


def _open_smbus(bus_number: int):
    try:
        import smbus2  # lazy: only a Pi with the sensor needs it
    except ImportError:
        raise UserError("meter ina219 needs smbus2: pip install 'hwnas[ina219]'") from None
    try:
        return smbus2.SMBus(bus_number)
    except OSError as err:
        raise UserError(f"meter ina219: cannot open I2C bus {bus_number} ({err})") from None


class Ina219Meter(Meter):
    """Integrates the INA219's power register, sampled every ``interval_s`` in a thread.

    Without an explicit ``chip`` the real bus is opened from the environment:
    ``HWNAS_INA219_BUS`` (default 1), ``HWNAS_INA219_ADDRESS`` (default 0x40),
    ``HWNAS_INA219_SHUNT_OHMS`` (default 0.1, the usual breakout board).
    """

    source = "ina219"

    def __init__(self, chip: INA219 | None = None, interval_s: float = 0.002, clock=time.perf_counter):
        if chip is None:
            bus = _open_smbus(int(os.environ.get("HWNAS_INA219_BUS", "1")))
            address = int(os.environ.get("HWNAS_INA219_ADDRESS", "0x40"), 0)
            shunt = float(os.environ.get("HWNAS_INA219_SHUNT_OHMS", "0.1"))
            try:
                chip = INA219(bus, address, shunt)
            except OSError as err:
                raise UserError(f"meter ina219: no INA219 at address {address:#x} ({err})") from None
        self.chip, self.interval_s, self.clock = chip, interval_s, clock
        self._thread = None

    def _sample(self):
        self._times.append(self.clock())
        self._watts.append(self.chip.power_w())

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> None:
        self._times, self._watts = [], []
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        if self._thread is None:
            raise RuntimeError("Ina219Meter.stop() without start()")
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._sample()
        return integrate_power(self._times, self._watts)
