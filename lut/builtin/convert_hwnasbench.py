"""Convert HW-NAS-Bench's FBNet/CIFAR-100 latency table into this project's LUT format.

Provenance: ``source/hw-nas-bench-fbnet_cifar100_latency_lut.json`` is the additive
table of HW-NAS-Bench (Y. Li et al., "HW-NAS-Bench: Hardware-Aware Neural
Architecture Search Benchmark", ICLR 2021, https://github.com/GATECH-EIC/HW-NAS-Bench,
MIT licence in ``LICENSE-hw-nas-bench``), recovered by least squares from 5000 of its
published per-architecture latencies (which it reproduces to 1e-12). Per device: an
architecture's latency = ``fixed_ms`` + sum over the 22 layers of ``layer_op_ms``;
``skip`` is each layer's zero point (its cost sits in ``fixed_ms``), so other entries
may be negative while totals are positive. There is no energy in that table:
``energy_source`` is ``none``.

Run from the repository root: ``python lut/builtin/convert_hwnasbench.py``; it
rewrites ``lut/builtin/<device>-hwnasbench.json`` with numbers copied unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from hwnas.space import get_space
from lut.format import header, layer_record
from lut.table import lut_from_dict, save_lut

HERE = Path(__file__).parent
SOURCE = HERE / "source" / "hw-nas-bench-fbnet_cifar100_latency_lut.json"
CITATION = (
    "HW-NAS-Bench (Li et al., ICLR 2021, https://github.com/GATECH-EIC/HW-NAS-Bench, MIT licence: "
    "lut/builtin/LICENSE-hw-nas-bench); additive table recovered by least squares from its "
    "published per-architecture latencies; converted by lut/builtin/convert_hwnasbench.py"
)
DEVICES = {
    "raspi4": ("rpi4-hwnasbench", "Raspberry Pi 4 (BCM2711, 4x Cortex-A72)"),
    "pixel3": ("pixel3-hwnasbench", "Google Pixel 3"),
    "eyeriss": ("eyeriss-hwnasbench", "Eyeriss ASIC (HW-NAS-Bench simulator)"),
    "fpga": ("fpga-hwnasbench", "FPGA (HW-NAS-Bench simulator)"),
}


def check_source_space(src: dict, space) -> None:
    """The source's space must be exactly our ``fbnet-cifar`` preset with 100 classes."""
    s = src["space"]
    stages = [[c, r, st] for c, r, st in zip(s["stage_channels"], s["stage_repeats"], s["stage_strides"])]
    ours = space.definition()
    assert s["input"] == ours["input_shape"], s["input"]
    assert s["num_classes"] == ours["num_classes"] and s["stem_channels"] == ours["stem_channels"]
    assert stages == ours["stages"], stages
    assert s["head_channels"] == ours["head_channels"]
    assert src["ops"] == ours["ops"], src["ops"]
    assert src["unit"] == "ms" and src["batch_size"] == 1


def convert(src: dict, device: str) -> dict:
    space = get_space("fbnet-cifar", 1.0, 100)
    check_source_space(src, space)
    name, label = DEVICES[device]
    table = src["devices"][device]
    assert len(table["layer_op_ms"]) == space.num_layers
    layers = []
    for layer, row in zip(space.layers, table["layer_op_ms"]):
        assert len(row) == len(space.ops)
        ops = {op: {"latency_ms": v, "latency_iqr_ms": None, "energy_mj": None} for op, v in zip(space.ops, row)}
        layers.append(layer_record(layer, ops, shape_key=False))  # the table names no shapes
    return {
        **header(space),
        "device": {
            "name": device,
            "cpu": label,
            "torch": None,
            "threads": None,
            "hostname": None,
            "source": "HW-NAS-Bench",
        },
        # what the table describes: HW-NAS-Bench's own measurement on the device (PyTorch
        # networks, per its sources), not any runtime this project deploys to
        "deploy": {
            "runtime": "pytorch",
            "precision": "fp32",
            "runtime_version": None,
            "as": "published by HW-NAS-Bench",
        },
        "protocol": {
            "statistic": "HW-NAS-Bench published per-architecture latency",
            "fit": "least squares over 5000 architectures; skip is each layer's zero point",
        },
        "units": {"latency": "ms", "energy": "mJ"},
        "energy_source": "none",
        "energy_kinds": [],
        "ops": list(space.ops),
        "fixed": {
            "latency_ms": table["fixed_ms"],
            "energy_mj": None,
            "note": "stem, head, pooling, classifier and every layer's skip",
        },
        "layers": layers,
        "calibration": None,
        "provenance": CITATION,
    }


def main() -> None:
    src = json.loads(SOURCE.read_text())
    for device, (name, _) in DEVICES.items():
        data = convert(src, device)
        lut_from_dict(data, name)  # must read back
        save_lut(data, HERE / f"{name}.json")
        print(f"wrote lut/builtin/{name}.json")


if __name__ == "__main__":
    main()
