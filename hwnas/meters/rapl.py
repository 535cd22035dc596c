"""Linux powercap / Intel RAPL energy counters (also exposed for AMD Zen by the kernel).

Reads ``<root>/intel-rapl:<N>/energy_uj`` of every package domain (``intel-rapl:N``,
not the sub-domains ``intel-rapl:N:M`` which the package already contains) and sums
them. The counters are microjoules and wrap around at ``max_energy_range_uj``; one
wrap per start/stop interval is unwrapped (at tens of W that is minutes to hours of
headroom, far more than one timed measurement).
"""

from __future__ import annotations

import re
from pathlib import Path

from hwnas.errors import UserError
from hwnas.meters.base import Meter

__all__ = ["RaplMeter", "energy_delta_uj"]

DEFAULT_ROOT = "/sys/class/powercap"
_PACKAGE = re.compile(r"^intel-rapl:\d+$")


def energy_delta_uj(start_uj: int, end_uj: int, max_range_uj: int) -> int:
    """Energy between two counter readings, unwrapping one wrap-around."""
    if end_uj >= start_uj:
        return end_uj - start_uj
    return end_uj + max_range_uj - start_uj


class RaplMeter(Meter):
    source = "rapl"

    def __init__(self, root: str | Path = DEFAULT_ROOT):
        root = Path(root)
        domains = sorted(p for p in root.glob("intel-rapl:*") if _PACKAGE.match(p.name)) if root.is_dir() else []
        if not domains:
            raise UserError(f"meter rapl: no RAPL package domain under {root} (no powercap/RAPL on this machine)")
        self._domains = []
        for d in domains:
            try:
                max_range = int((d / "max_energy_range_uj").read_text())
                int((d / "energy_uj").read_text())
            except (OSError, ValueError) as err:
                raise UserError(
                    f"meter rapl: cannot read {d}/energy_uj ({err.__class__.__name__}); "
                    "reading RAPL usually needs root or a udev rule"
                ) from None
            self._domains.append((d / "energy_uj", max_range))
        self._start = None

    def _read(self) -> list[int]:
        return [int(path.read_text()) for path, _ in self._domains]

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> float:
        if self._start is None:
            raise RuntimeError("RaplMeter.stop() without start()")
        end = self._read()
        total_uj = sum(energy_delta_uj(s, e, m) for s, e, (_, m) in zip(self._start, end, self._domains))
        self._start = None
        return total_uj * 1e-6
