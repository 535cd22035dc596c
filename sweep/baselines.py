"""Hand-designed baselines for the Pareto report: torchvision MobileNetV2 and ResNet-18,
adapted to 32x32 inputs and the dataset's classes (``hwnas.baselines``), saved as data
files like a childnet's and measured on the sweep's device with the same protocol (``childnet.measure`` in a Ray
task on the device's node). They are not trained here, so ``test_acc`` is null and
``note`` says so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hwnas.baselines import BASELINES, baseline_model  # re-exported: the registry lives in hwnas
from hwnas.config import MeasureConfig

__all__ = ["BASELINES", "baseline_model", "measure_baselines"]


def measure_baselines(out_dir: str | Path, input_shape, num_classes: int, measure: MeasureConfig,
                      measure_fn) -> list[dict]:
    """Write each baseline's data file ``out_dir/<name>.weights.pt`` (``childnet.export``:
    the name, classes and input shape rebuild it; no code in the file), measure it with
    ``measure_fn(path) -> measured dict`` and return ``baselines.json`` rows."""
    from childnet.export import save_model_data
    from childnet.train import count_flops

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in BASELINES:
        torch.manual_seed(0)
        model = baseline_model(name, num_classes).eval()
        path = save_model_data(model, out_dir / f"{name}.weights.pt",
                               {"input_shape": list(input_shape), "baseline": name, "num_classes": num_classes})
        measured = measure_fn(path)
        rows.append({
            "name": name,
            "latency_ms": measured["latency_ms"],
            "latency_iqr_ms": measured.get("latency_iqr_ms"),
            "energy_mj": measured.get("energy_mj"), "energy_dynamic_mj": measured.get("energy_dynamic_mj"),
            "energy_source": measured.get("energy_source", "none"),
            "device": measured.get("device"),
            "node": measured.get("node"),
            "threads": measured.get("threads"),
            "batch_size": measured.get("batch_size"),
            "params": sum(p.numel() for p in model.parameters()),
            "flops": count_flops(model, list(input_shape)),
            "test_acc": None,
            **({"pending": True} if measured.get("pending") else {}),
            "note": f"torchvision {name} adapted to {input_shape[1]}x{input_shape[2]} inputs and "
                    f"{num_classes} classes; untrained here (test_acc null); measured on the sweep's device "
                    f"with the childnet protocol",
        })
    return rows
