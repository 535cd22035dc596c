"""Convert the HANNA authors' Raspberry Pi 3B tables into this project's LUT format.

Provenance: ``source/hanna/`` holds, unchanged, files of the public repository
hpnair/18663_Project_FBNet (H. Nair et al., "HANNA: Hardware-Aware Neural Network
Architecture", CMU 18-663 project report, 2019; MIT licence in ``LICENSE-hanna``),
folder ``hanna_pytorch/`` at commit ``COMMIT``:

- ``rpi_speed.txt``: 22 rows (searchable layers) x 9 columns (candidate blocks),
  each block's latency on a Raspberry Pi 3B in **seconds** (the loss's LAT is the
  mask-weighted sum of a row, with no fixed part);
- ``new_rpi_energy.txt``: the same shape, each block's energy in **joules**, the
  default ``--energy-file`` of ``train_cifar10.py`` (the loss's ENER). The report
  measured it with a PowerJive USB meter at the Pi's 5.1 V supply as the *dynamic*
  part: the current above the idle 0.24 A, times the block's time from the latency
  table. Joules, because the report gives ENER of its uniform start (18.43) and its
  model 29 (4.79, measured) in J. There is no total energy: ``energy_kinds`` is
  ``["dynamic"]``;
- ``thetalogs/``: the final theta (22 x 9) of the report's 30 searches (tests decode
  them into architectures of the ``hanna-cifar`` space).

Column order: ``candblks.get_blocks`` builds each layer's blocks from the lists
``_e``/``_kernel``/``_group`` below (copied from that file) and appends the identity
last; the converter derives the op names from them and checks that they are the
space's ops in the same order. The layer shapes are ``get_blocks(cifar10=True)``'s
(stem stride 2, CIFAR strides), the ``hanna-cifar`` preset. The Pi profiling script
is not in the repository (``profiling.py`` there profiles a 108 px face input on a
GPU), so the input shapes the Pi timed are those of the supernet the tables were used
with; they are not recorded in the source.

HANNA offers no skip in the first layer of a stage (``inner_idx == 0``); there the
energy file holds 0 (an unused pad) and the speed file a value its loss never reads.
This project's space offers skip in every layer, so those 7 entries are copied from
the files as they are and marked ``"measured": false`` with a note: a search against
this table sees skip there as nearly free, which HANNA's never could.

Run from the repository root: ``python lut/builtin/convert_hanna.py``; it rewrites
``lut/builtin/rpi3b-hanna.json`` (latency seconds x 1000 -> ms, energy J x 1000 -> mJ).
"""

from __future__ import annotations

from pathlib import Path

from hwnas.space import get_space
from lut.format import header, layer_record
from lut.table import lut_from_dict, save_lut

__all__ = ["COMMIT", "HANNA_OPS", "NAME", "convert", "hanna_ops", "no_skip_layers", "read_table"]

HERE = Path(__file__).parent
SOURCE = HERE / "source" / "hanna"
NAME = "rpi3b-hanna"
REPO = "https://github.com/hpnair/18663_Project_FBNet"
COMMIT = "39a665603e30d83d5997ad78c96a4aa900ba2814"  # HEAD when copied; the tables last changed in 1ff4425

# hanna_pytorch/candblks.py, get_blocks(): one block per (expansion, kernel, group), then Identity
_E = [1, 1, 3, 6, 1, 1, 3, 6]
_KERNEL = [3, 3, 3, 3, 5, 5, 5, 5]
_GROUP = [1, 2, 1, 1, 1, 2, 1, 1]


def hanna_ops() -> tuple[str, ...]:
    """HANNA's column order as this project's op names."""
    names = [f"k{k}_e{e}" + (f"_g{g}" if g > 1 else "") for e, k, g in zip(_E, _KERNEL, _GROUP)]
    return (*names, "skip")


HANNA_OPS = hanna_ops()


def no_skip_layers(space) -> list[int]:
    """Layers where HANNA has no identity candidate: the first layer of every stage."""
    firsts, i = [], 0
    for stage in space.stages:
        firsts.append(i)
        i += stage.repeats
    return firsts


def read_table(path: Path) -> list[list[float]]:
    rows = [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]
    assert all(len(r) == len(HANNA_OPS) for r in rows), f"{path}: expected {len(HANNA_OPS)} columns"
    return rows


def _entry(op: str, seconds: float, joules: float, no_skip: bool) -> dict:
    """One op's entry from HANNA's seconds and joules; a skip where HANNA has none is kept
    (the files' unused values) but marked not measured."""
    entry = {
        "latency_ms": seconds * 1e3,
        "latency_iqr_ms": None,
        "energy_mj": None,
        "energy_dynamic_mj": joules * 1e3,
        "measured": True,
    }
    if op == "skip" and no_skip:
        entry.update(
            measured=False,
            note="HANNA has no skip in a stage's first layer: the files' unused values, copied (energy 0 is a pad)",
        )
    return entry


def convert() -> dict:
    space = get_space("hanna-cifar")
    assert HANNA_OPS == space.ops, (HANNA_OPS, space.ops)
    speed_s, energy_j = read_table(SOURCE / "rpi_speed.txt"), read_table(SOURCE / "new_rpi_energy.txt")
    assert len(speed_s) == len(energy_j) == space.num_layers == 22
    no_skip = no_skip_layers(space)
    assert [i for i, row in enumerate(energy_j) if row[-1] == 0.0] == no_skip  # the pads sit where HANNA has no skip
    layers = [
        layer_record(layer, {op: _entry(op, s, j, layer.index in no_skip) for op, s, j in zip(space.ops, lat, en)})
        for layer, lat, en in zip(space.layers, speed_s, energy_j)
    ]
    return {
        **header(space),
        "device": {
            "name": "Raspberry Pi 3B",
            "cpu": "BCM2837, 4x Cortex-A53 1.2 GHz",
            "torch": None,
            "threads": None,
            "hostname": None,
            "source": "HANNA (hpnair/18663_Project_FBNet)",
        },
        # what the table describes: HANNA's PyTorch blocks timed on the Pi 3B (their code is
        # PyTorch), not any runtime this project deploys to
        "deploy": {"runtime": "pytorch", "precision": "fp32", "runtime_version": None, "as": "published by HANNA"},
        "protocol": {
            "statistic": "HANNA's per-block profile on the Pi (script not published)",
            "energy": {
                "meter": "PowerJive USB power meter",
                "supply_v": 5.1,
                "idle_a": 0.24,
                "idle_w": 0.24 * 5.1,
                "method": "(block's current - idle current) x 5.1 V x the block's latency",
            },
        },
        "units": {"latency": "ms", "energy": "mJ", "source_latency": "s", "source_energy": "J"},
        "energy_source": "powerjive",
        "energy_kinds": ["dynamic"],
        "ops": list(space.ops),
        "fixed": {
            "latency_ms": 0.0,
            "latency_iqr_ms": None,
            "energy_mj": None,
            "energy_dynamic_mj": 0.0,
            "note": "HANNA's LAT and ENER have no fixed part: stem, head and classifier are not in its tables",
        },
        "layers": layers,
        "calibration": None,
        "provenance": {
            "repo": REPO,
            "commit": COMMIT,
            "licence": "MIT, lut/builtin/LICENSE-hanna",
            "files": ["hanna_pytorch/rpi_speed.txt", "hanna_pytorch/new_rpi_energy.txt", "hanna_pytorch/thetalogs/"],
            "copied_to": "lut/builtin/source/hanna/",
            "converted_by": "lut/builtin/convert_hanna.py",
            "report": "H. Nair et al., HANNA: Hardware-Aware Neural Network Architecture (CMU 18-663, 2019)",
            "differences": "blocks built here have batch norm (HANNA's: biases, no BN), grouped blocks shuffle "
            "once (HANNA's twice), stem and head conv have BN + ReLU (HANNA's are bare convs), and "
            f"skip exists in layers {no_skip} (not in HANNA's; those entries are not measured)",
        },
    }


def main() -> None:
    data = convert()
    lut_from_dict(data, NAME)  # must read back
    save_lut(data, HERE / f"{NAME}.json")
    print(f"wrote lut/builtin/{NAME}.json")


if __name__ == "__main__":
    main()
