"""Energy meters: RAPL on a fake sysfs tree, INA219 registers against the TI datasheet
formulas with an in-memory bus."""

import os
import time

import pytest

from hwnas.errors import UserError
from hwnas.meters import get_meter
from hwnas.meters.ina219 import (
    INA219,
    Ina219Meter,
    calibration_value,
    decode_bus_voltage,
    decode_current,
    decode_power,
    decode_shunt_voltage,
    integrate_power,
)
from hwnas.meters.rapl import RaplMeter, energy_delta_uj

MAX_RANGE = 262143328850


def _domain(root, name, energy_uj, max_range=MAX_RANGE):
    d = root / name
    d.mkdir()
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    return d


def test_energy_delta_unwraps():
    assert energy_delta_uj(100, 350, MAX_RANGE) == 250
    assert energy_delta_uj(MAX_RANGE - 1000, 500, MAX_RANGE) == 1500


def test_rapl_sums_packages_ignores_subdomains_and_wraps(tmp_path):
    p0 = _domain(tmp_path, "intel-rapl:0", MAX_RANGE - 2_000_000)
    p1 = _domain(tmp_path, "intel-rapl:1", 10_000_000)
    core = _domain(tmp_path, "intel-rapl:0:0", 5)  # inside package 0: must not be added again
    meter = RaplMeter(tmp_path)
    assert meter.source == "rapl"
    meter.start()
    (p0 / "energy_uj").write_text("1000000\n")  # wrapped: 2 J + 1 J
    (p1 / "energy_uj").write_text("10500000\n")  # 0.5 J
    (core / "energy_uj").write_text("999999999\n")
    assert meter.stop() == pytest.approx(3.5)


def test_rapl_context_manager(tmp_path):
    d = _domain(tmp_path, "intel-rapl:0", 0)
    with RaplMeter(tmp_path) as reading:
        (d / "energy_uj").write_text("250000\n")
    assert reading.joules == pytest.approx(0.25)


def test_rapl_missing_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no RAPL package domain") as err:
        RaplMeter(tmp_path / "nothing")
    assert "\n" not in str(err.value)


@pytest.mark.skipif(os.path.isdir("/sys/class/powercap"), reason="this machine has powercap")
def test_get_meter_rapl_unavailable_here():
    with pytest.raises(UserError, match="rapl"):
        get_meter("rapl")


def test_get_meter_none_and_unknown():
    meter = get_meter("none")
    meter.start()
    assert meter.stop() is None
    assert meter.source == "none"
    with pytest.raises(UserError, match="unknown meter 'watts'"):
        get_meter("watts")


class FakeINA219Bus:
    """An INA219 on an in-memory I2C bus: the host sets the analog inputs, the chip
    fills its current and power registers as the datasheet says (current =
    shunt * cal / 4096, power = current * bus / 5000)."""

    def __init__(self, address=0x40):
        self.address = address
        self.regs = {r: 0 for r in range(6)}
        self.writes = []

    def set_inputs(self, shunt_v, bus_v):
        shunt_raw = round(shunt_v / 10e-6) & 0xFFFF
        bus_raw = round(bus_v / 4e-3) << 3 | 0b10  # CNVR set
        self.regs[1], self.regs[2] = shunt_raw, bus_raw
        signed = shunt_raw - (1 << 16) if shunt_raw & 0x8000 else shunt_raw
        current = signed * self.regs[5] // 4096
        self.regs[4] = current & 0xFFFF
        self.regs[3] = abs(current) * (bus_raw >> 3) // 5000

    def read_i2c_block_data(self, address, reg, length):
        assert address == self.address
        assert length == 2
        return [self.regs[reg] >> 8, self.regs[reg] & 0xFF]

    def write_i2c_block_data(self, address, reg, data):
        assert address == self.address
        self.writes.append((reg, list(data)))
        self.regs[reg] = data[0] << 8 | data[1]


def test_calibration_register_formula():
    # datasheet example: 0.1 ohm shunt, 100 uA current LSB -> 4096; 2 mOhm, 1 mA -> 20480
    assert calibration_value(100e-6, 0.1) == 4096
    assert calibration_value(1e-3, 0.002) == 20480
    assert calibration_value(1e-4, 0.33) == 1241  # truncated, not rounded (1241.2)
    with pytest.raises(UserError):
        calibration_value(1e-9, 0.1)


def test_register_decoding():
    assert decode_bus_voltage(0x5DC0 | 0b11) == pytest.approx(12.0)  # 3000 * 4 mV, CNVR/OVF bits ignored
    assert decode_shunt_voltage(0x07D0) == pytest.approx(0.020)  # 2000 * 10 uV
    assert decode_shunt_voltage(0xF830) == pytest.approx(-0.020)  # two's complement
    assert decode_current(0x2710, 1e-3) == pytest.approx(10.0)
    assert decode_power(6000, 1e-3) == pytest.approx(120.0)  # power LSB = 20 * current LSB


def test_ina219_over_in_memory_bus_matches_datasheet_example():
    bus = FakeINA219Bus()
    chip = INA219(bus, 0x40, r_shunt_ohm=0.002, current_lsb_a=1e-3)
    assert bus.writes == [(5, [0x50, 0x00])]  # calibration 20480 written big-endian
    bus.set_inputs(shunt_v=0.020, bus_v=12.0)  # 10 A through 2 mOhm at 12 V
    assert chip.shunt_voltage_v() == pytest.approx(0.020)
    assert chip.bus_voltage_v() == pytest.approx(12.0)
    assert chip.current_a() == pytest.approx(10.0)
    assert chip.power_w() == pytest.approx(120.0)


def test_integrate_power_trapezoid():
    assert integrate_power([0.0, 1.0, 3.0], [1.0, 3.0, 3.0]) == pytest.approx(2.0 + 6.0)


def test_ina219_meter_integrates_sampled_power():
    bus = FakeINA219Bus()
    chip = INA219(bus, 0x40, r_shunt_ohm=0.1, current_lsb_a=1e-4)
    bus.set_inputs(shunt_v=0.05, bus_v=5.0)  # 0.5 A at 5 V = 2.5 W
    assert chip.power_w() == pytest.approx(2.5)
    meter = Ina219Meter(chip, interval_s=0.001)
    assert meter.source == "ina219"
    t0 = time.perf_counter()
    meter.start()
    time.sleep(0.05)
    joules = meter.stop()
    outer = time.perf_counter() - t0
    assert 2.5 * 0.05 <= joules <= 2.5 * outer
