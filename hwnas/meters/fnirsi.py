"""``fnirsi``: a FNIRSI FNB48 / FNB48S / FNB58 / C1 USB power meter over USB HID (``pyusb``).

Protocol (baryluk/fnirsi-usb-power-data-logger, fnirsi_logger.py, MIT; reverse
engineered from the vendor's Windows app): the host writes 64-byte requests
``aa 81 00.. 8e``, ``aa 82 00.. 96`` and (FNB48, C1) ``aa 83 00.. 9e`` or (FNB58, FNB48S)
``aa 82`` again, then keeps the stream alive with ``aa 83`` (every 1 s on FNB58/FNB48S,
3 ms on the others). The meter answers with 64-byte packets at 100 samples/s:

- byte 0 ``0xaa``, byte 1 the packet type (``0x04``: data; others are ignored)
- 4 samples of 15 bytes from byte 2: voltage u32 LE / 1e5 V, current u32 LE / 1e5 A,
  D+ u16 LE / 1000 V, D- u16 LE / 1000 V, one byte (always 1), temperature u16 LE / 10 C
- byte 62 unknown; byte 63 a CRC-8 of bytes 1..62 (poly 0x39, init 0x42, not reflected,
  no final xor); a packet failing it is dropped, as the logger does.

Power is V x I per sample. A sample with the voltage outside 4-5.5 V (a Pi on USB
5 V), a current above 6 A or a power above 30 W is refused.
"""

from __future__ import annotations

import time

from hwnas.errors import UserError
from hwnas.meters.sampled import BadReading, SampledMeter

__all__ = ["FnirsiMeter", "UsbHidTransport", "crc8", "decode_packet", "encode_packet"]

PACKET = 64
DATA = 0x04
V_RANGE = (4.0, 5.5)
MAX_A, MAX_W = 6.0, 30.0
# (vendor, product, name, newer protocol: FNB58/FNB48S)
DEVICES = (
    (0x0483, 0x003A, "FNB48", False),
    (0x0483, 0x003B, "C1", False),
    (0x2E3C, 0x5558, "FNB58", True),
    (0x2E3C, 0x0049, "FNB48S", True),
)


def crc8(data: bytes, poly: int = 0x39, init: int = 0x42) -> int:
    crc = init
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def decode_packet(packet: bytes) -> list[dict] | None:
    """The 4 samples of a data packet (``voltage``, ``current``, ``dp``, ``dn``, ``temp_c``);
    None for a packet of another type or with a bad CRC."""
    if len(packet) != PACKET or packet[0] != 0xAA or packet[1] != DATA or crc8(packet[1:63]) != packet[63]:
        return None
    out = []
    for i in range(4):
        o = 2 + 15 * i
        le = packet[o : o + 15]
        out.append(
            {
                "voltage": int.from_bytes(le[0:4], "little") / 1e5,
                "current": int.from_bytes(le[4:8], "little") / 1e5,
                "dp": int.from_bytes(le[8:10], "little") / 1000,
                "dn": int.from_bytes(le[10:12], "little") / 1000,
                "temp_c": int.from_bytes(le[13:15], "little") / 10,
            }
        )
    return out


def encode_packet(samples: list[dict], tail: int = 0) -> bytes:
    """The data packet of 4 samples (the inverse of ``decode_packet``): builds recordings."""
    if len(samples) != 4:
        raise ValueError("a data packet holds 4 samples")
    body = bytearray([0xAA, DATA])
    for s in samples:
        body += round(s["voltage"] * 1e5).to_bytes(4, "little") + round(s["current"] * 1e5).to_bytes(4, "little")
        body += round(s.get("dp", 0) * 1000).to_bytes(2, "little") + round(s.get("dn", 0) * 1000).to_bytes(2, "little")
        body += bytes([1]) + round(s.get("temp_c", 25) * 10).to_bytes(2, "little")
    body.append(tail & 0xFF)
    body.append(crc8(bytes(body[1:63])))
    return bytes(body)


def _request(code: int, check: int) -> bytes:
    return bytes([0xAA, code]) + bytes(61) + bytes([check])


class UsbHidTransport:
    """The real transport: the first FNIRSI meter found on USB, its HID endpoints."""

    def __init__(self, clock=time.perf_counter):
        try:
            import usb.core  # lazy: only a machine with the meter needs pyusb
            import usb.util
        except ImportError:
            raise UserError("meter fnirsi needs pyusb: pip install 'hwnas[fnirsi]'") from None
        self.usb, self.clock = usb, clock
        try:
            found = [(usb.core.find(idVendor=v, idProduct=p), name, new) for v, p, name, new in DEVICES]
        except usb.core.NoBackendError:
            raise UserError("meter fnirsi: pyusb finds no USB backend (install libusb-1.0)") from None
        found = [f for f in found if f[0] is not None]
        if not found:
            ids = ", ".join(f"{v:04x}:{p:04x} ({n})" for v, p, n, _ in DEVICES)
            raise UserError(f"meter fnirsi: no FNIRSI meter on USB (looked for {ids})")
        self.dev, self.model, self.newer = found[0]
        try:
            self._open()
        except usb.core.USBError as err:
            raise UserError(
                f"meter fnirsi: cannot open the {self.model} ({err}); USB access usually needs a udev rule or root"
            ) from None

    def _open(self) -> None:
        usb, dev = self.usb, self.dev
        hid = next(i.bInterfaceNumber for cfg in dev for i in cfg if i.bInterfaceClass == 0x03)
        for cfg in dev:
            for intf in cfg:
                if dev.is_kernel_driver_active(intf.bInterfaceNumber):
                    dev.detach_kernel_driver(intf.bInterfaceNumber)
        dev.set_configuration()
        intf = dev.get_active_configuration()[(hid, 0)]
        direction = usb.util.endpoint_direction
        self.ep_out = usb.util.find_descriptor(intf, custom_match=lambda e: direction(e.bEndpointAddress) == 0x00)
        self.ep_in = usb.util.find_descriptor(intf, custom_match=lambda e: direction(e.bEndpointAddress) == 0x80)
        self.ep_out.write(_request(0x81, 0x8E))
        self.ep_out.write(_request(0x82, 0x96))
        self.ep_out.write(_request(0x82, 0x96) if self.newer else _request(0x83, 0x9E))
        self.refresh_s = 1.0 if self.newer else 0.003
        self._next_refresh = time.monotonic() + self.refresh_s

    def begin(self) -> None:
        """Drop packets queued while nobody was reading (they are from before ``start()``)."""
        try:
            while self.ep_in.read(PACKET, timeout=5):
                pass
        except self.usb.core.USBError:
            pass

    def read(self) -> tuple[float, bytes]:
        data = bytes(self.ep_in.read(PACKET, timeout=2000))
        if time.monotonic() >= self._next_refresh:
            self.ep_out.write(_request(0x83, 0x9E))
            self._next_refresh = time.monotonic() + self.refresh_s
        return self.clock(), data

    def close(self) -> None:
        self.usb.util.dispose_resources(self.dev)


class FnirsiMeter(SampledMeter):
    name = "fnirsi"
    nominal_rate_hz = 100.0  # the meters' only rate (fnirsi_logger.py)
    samples_per_payload = 4

    def __init__(self, transport=None, *, clock=time.perf_counter):
        super().__init__(transport if transport is not None else UsbHidTransport(clock=clock), clock=clock)

    def decode(self, t: float, payload) -> list[tuple[float, float]]:
        packet = bytes.fromhex(payload) if isinstance(payload, str) else bytes(payload)
        samples = decode_packet(packet)
        if samples is None:
            return []
        dt = 1.0 / self.sample_rate_hz
        out = []
        for i, s in enumerate(samples):
            v, a = s["voltage"], s["current"]
            if not V_RANGE[0] <= v <= V_RANGE[1]:
                raise BadReading(f"voltage {v:.5f} V outside {V_RANGE[0]:g}-{V_RANGE[1]:g} V (USB 5 V)")
            if a > MAX_A or v * a > MAX_W:
                raise BadReading(f"{a:.5f} A at {v:.5f} V is above {MAX_A:g} A or {MAX_W:g} W")
            out.append((t - (3 - i) * dt, v * a))
        return out
