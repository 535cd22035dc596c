"""The records of the synthetic experiments (:mod:`.experiments`), each shaped as its real
writer writes it (``hwnas.records``; ``tests/test_contract.py`` checks both against the same
types): sweep.json, search/arch.json, a LUT estimate, a measurement, child/metrics.json and
result.json's rows. Made-up values come from the caller; the fixed ones are marked synthetic.
The deployment target is ExecuTorch fp32 unless the caller names another (``target``)."""

import json
import os

from hwnas.layout import BASELINES
from hwnas.target import SUFFIXES  # the deployed file names per runtime (torch-free)

__all__ = [
    "LAYERS",
    "arch_record",
    "deploy_record",
    "done_row",
    "lut_estimate",
    "measurement",
    "metrics_record",
    "sweep_record",
    "write_json",
    "write_result_rows",
]

LAYERS = 22
# a runtime version to record per runtime
_VERSIONS = {"executorch": "1.5.1", "onnxruntime": "1.23.2", "torchscript": "2.9.1", "pytorch": "2.9.1"}
_SPACE = {"name": "fbnet-cifar", "width": 0.25, "num_classes": 10, "hash": "synthetic", "layers_hash": "synthetic"}


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh)


def write_result_rows(path: str, rows: list) -> None:
    """result.json: one JSON object a line, as Ray Tune appends them."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)


def deploy_record(runtime: str = "executorch", precision: str = "fp32") -> dict:
    """A target as a LUT, a measurement and the report record it (``hwnas.target.DeployTarget.record``)."""
    return {"runtime": runtime, "precision": precision, "runtime_version": _VERSIONS[runtime]}


def sweep_record(
    trials: int,
    luts: list,
    strategy: str = "dnas",
    budget: dict | None = None,
    energy: bool = True,
    target: dict | None = None,
) -> dict:
    """sweep.json as ``sweep.run`` writes it (``hwnas.records.SweepRecord``), marked synthetic;
    ``target``: the deploy record (``deploy_record``; default ExecuTorch fp32)."""
    target = target or deploy_record()
    sweep = {
        "trials": trials,
        "strategy": strategy,
        "budget": budget or {"max_latency_ms": None, "max_energy_mj": None},
    }
    return {
        "config": {
            "sweep": sweep,
            "deploy": {"runtime": target["runtime"], "precision": target["precision"], "calibration_batches": 8},
        },
        "trials": trials,
        "strategy": strategy,
        "dominant": "any",
        "objective": "multi",
        "metrics": ["test_acc", "lut_latency_ms"] + (["lut_energy_mj"] if energy else []),
        "directions": ["max", "min"] + (["min"] if energy else []),
        "luts": luts,
        "lut": {
            "spec": luts[0],
            "path": luts[0],
            "source": "synthetic",
            "name": luts[0],
            "device": "synthetic host",
            "energy_source": "model:horowitz45nm" if energy else "none",
            "has_energy": energy,
            "deploy": target,
        },
        "device": "local",
        "knobs": None,
        "warmup": None,
        "baselines": BASELINES,
        "runs": [],
        "synthetic": True,
    }


def arch_record(ops: list, latency_ms, energy_mj, energy_source: str, lut: str, **picked) -> dict:
    """search/arch.json as ``supernet.search`` (or the random strategy) writes it (``hwnas.records.ArchRecord``);
    ``picked``: how the architecture was chosen (``picked``, ``arch_seed`` or ``arch_index``/``seed``)."""
    return {
        "space": _SPACE,
        "ops": ops,
        "lut_latency_ms": latency_ms,
        "lut_energy_mj": energy_mj,
        "energy_source": energy_source,
        "lut": lut,
        **picked,
    }


def lut_estimate(name: str, device: str, latency_ms, energy_mj, energy_source: str, target: str) -> dict:
    """One LUT's estimate of a childnet, an entry of metrics.json's ``lut_estimates``; ``target``:
    the key of the target the LUT describes (``executorch-fp32``; the builtin tables ``pytorch-fp32``)."""
    return {
        "name": name,
        "device": device,
        "lut_latency_ms": latency_ms,
        "lut_energy_mj": energy_mj,
        "energy_source": energy_source,
        "target": target,
    }


def measurement(latency_ms, latency_iqr_ms, device: str | None, target: dict) -> dict:
    """metrics.json's ``measured``: one thread, batch 1, no energy meter, timed in ``target``
    (a deploy record; the file's checks are not a measurement's); not measured: no target."""
    timed = {"deploy": {k: target[k] for k in ("runtime", "precision", "runtime_version")}}
    return {
        **(timed if latency_ms is not None else {}),
        "latency_ms": latency_ms,
        "latency_iqr_ms": latency_iqr_ms,
        "energy_mj": None,
        "energy_source": "none",
        "device": device,
        "threads": 1,
        "batch_size": 1,
    }


def metrics_record(acc, params, flops, ops, estimates, measured, target: dict, acc_int8=None) -> dict:
    """child/metrics.json as ``childnet.train`` writes it (``hwnas.records.MetricsRecord``): the
    deployed file of ``target`` (a deploy record) checked on the test split; int8: ``acc_int8``
    is the program's own test accuracy."""
    name = "model" + SUFFIXES[target["runtime"]]
    deploy = {**target, "file": name}
    if target["runtime"] in ("executorch", "onnxruntime"):
        deploy["deploy_agreement"] = 1.0 if target["precision"] == "fp32" else 0.985
    if target["precision"] == "int8":
        deploy["test_acc_int8"] = acc - 0.01 if acc_int8 is None else acc_int8
    return {
        "test_acc": acc,
        "params": params,
        "flops": flops,
        "ops": ops,
        "space": _SPACE,
        "lut": estimates[0],
        "lut_estimates": estimates,
        "measured": measured,
        "train_seconds": 40.0,
        "epochs": 3,
        "model": name,
        "weights": "model.weights.pt",
        "reused_from": None,
        "deploy": deploy,
    }


def done_row(trial_id, acc, lat, energy, measured, seconds, ops, device) -> dict:
    """The last result.json row as ``sweep.trial`` reports it (``hwnas.records.ResultRow``) plus
    the keys Ray Tune adds (``trial_id``, ``time_total_s``)."""
    return {
        "phase": "done",
        "epoch": 3,
        "trial_id": trial_id,
        "test_acc": acc,
        "lut_latency_ms": lat,
        "lut_energy_mj": energy,
        "measured_latency_ms": measured,
        "measured_energy_mj": None,
        "measured_device": device,
        "params": 1000,
        "flops": 10000,
        "ops": " ".join(ops),
        "reused_from": None,
        "trial_seconds": seconds,
        "within_budget": None,
        "budget_basis": None,
        "time_total_s": seconds + 2.0,
    }
