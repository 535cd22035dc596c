"""Writes a synthetic sweep experiment directory in the layout of ``docs/formats.md``.

For tests, the scale bench and demos of the report only (``testdata``): the numbers are made up (seeded) and
the files say so (``"synthetic": true`` in sweep.json). Finished, running and failed trials,
two LUTs (one with modeled energy), a measured latency without an energy meter, every model
deployed and timed in ExecuTorch fp32 (``runtime``, ``precision``: another target; int8 trials
record the program's own test accuracy).
``write_rows_experiment`` writes finished trials with exactly the given values (hand-checked tests).
The records' shapes are in :mod:`.records`.
"""

import os
from dataclasses import dataclass

import numpy as np

from hwnas.layout import ARCH, BASELINES, CHILD, METRICS, PARAMS, RECORD, RESULT, SEARCH
from hwnas.op_names import FBNET_OPS
from hwnas.target import SUFFIXES

from .records import (
    LAYERS,
    arch_record,
    deploy_record,
    done_row,
    lut_estimate,
    measurement,
    metrics_record,
    sweep_record,
    write_json,
    write_result_rows,
)

__all__ = ["write_rows_experiment", "write_synthetic_experiment"]

# made-up per-op costs (ms, mJ) on two devices; skip is the cheapest
_OP_MS = np.array([0.30, 0.22, 0.65, 1.10, 0.45, 0.33, 0.95, 1.70, 0.02])
_OP_MJ = np.array([0.10, 0.07, 0.22, 0.40, 0.15, 0.11, 0.33, 0.60, 0.01])
_OP_ACC = np.array([0.60, 0.45, 0.90, 1.10, 0.75, 0.55, 1.00, 1.20, 0.0])
_RPI_LUT, _HOST_LUT = "builtin:rpi4-hwnasbench", "host.json"
_RPI_TARGET = "pytorch-fp32"  # what the published table measured (eager PyTorch on its device)
_HOST_DEVICE = "synthetic host (host)"  # the measuring device
_BASELINES = [
    {
        "name": "mobilenet_v2",
        "measured": {
            "latency_ms": 38.0,
            "latency_iqr_ms": 0.8,
            "energy_mj": None,
            "energy_source": "none",
            "device": "synthetic host",
        },
        "params": 2236682,
        "flops": 6.3e7,
        "test_acc": None,
        "note": "torchvision MobileNetV2, 32x32 input, not trained",
    },
    {
        "name": "resnet18_cifar",
        "measured": {
            "latency_ms": 55.0,
            "latency_iqr_ms": 1.2,
            "energy_mj": None,
            "energy_source": "none",
            "device": "synthetic host",
        },
        "params": 11173962,
        "flops": 5.6e8,
        "test_acc": 0.93,
        "note": "ResNet-18 adapted to 32x32",
    },
]
_ERROR_TXT = (
    "Failure # 1 (occurred at 2026-11-23_18:00:00)\nTraceback (most recent call last):\n"
    '  File "supernet/search.py", line 1, in run\n'
    "RuntimeError: synthetic failure: loss became NaN at epoch 2\n\n"
)


@dataclass(frozen=True)
class _Draw:
    """One synthetic trial's knobs, architecture and costs."""

    knobs: dict
    ops: list
    choice: np.ndarray  # op index per layer
    lat_rpi: float
    lat_host: float
    en_host: float | None
    acc: float


def _baselines(target: dict) -> list:
    """baselines.json's rows, deployed and timed in ``target`` as the childnets are."""
    rows = []
    for b in _BASELINES:
        name = b["name"] + SUFFIXES[target["runtime"]]
        deploy = {**target, "file": name, "deploy_agreement": 1.0}
        if target["precision"] == "int8" and b["test_acc"] is not None:
            deploy["test_acc_int8"] = b["test_acc"] - 0.004
        rows.append({**b, "model": f"baselines/{name}", "deploy": deploy})
    return rows


def _draw(rng, t: int, energy: bool) -> _Draw:
    """Knobs at random; a heavier cost weight makes cheaper ops (skip, small kernels) likelier."""
    knobs = {
        "alpha": float(rng.uniform(0.01, 2.0)),
        "beta": float(rng.uniform(0.3, 1.5)),
        "gamma": float(rng.uniform(0.01, 2.0)),
        "delta": float(rng.uniform(0.3, 1.5)),
        "dominant": ("latency", "energy")[t % 2],
        "dominance": 0.05,
    }
    pressure = knobs["alpha"] * knobs["beta"] + knobs["gamma"] * knobs["delta"]
    logits = _OP_ACC - 0.6 * pressure * _OP_MS + rng.normal(0, 0.6, size=(LAYERS, len(FBNET_OPS)))
    choice = logits.argmax(axis=1)
    return _Draw(
        knobs=knobs,
        ops=[FBNET_OPS[i] for i in choice],
        choice=choice,
        lat_rpi=4.0 + float(_OP_MS[choice].sum()) * 3.0,
        lat_host=1.0 + float(_OP_MS[choice].sum()),
        en_host=0.2 + float(_OP_MJ[choice].sum()) if energy else None,
        acc=float(np.clip(0.55 + 0.02 * _OP_ACC[choice].sum() + rng.normal(0, 0.01), 0, 0.99)),
    )


def _search_rows(trial_id: str, lat_rpi: float) -> list:
    """result.json's rows of the three search epochs."""
    return [
        {
            "epoch": e,
            "phase": "search",
            "trial_id": trial_id,
            "lut_latency_ms": lat_rpi,
            "lut_energy_mj": None,
            "trial_seconds": 10.0 * (e + 1),
            "time_total_s": 10.0 * (e + 1) + 2.0,
        }
        for e in range(3)
    ]


def _write_finished(tdir: str, t: int, d: _Draw, meas, energy: bool, target: dict) -> dict:
    """child/metrics.json of a finished trial; returns its done row."""
    host_target = f"{target['runtime']}-{target['precision']}"
    estimates = [
        lut_estimate(_RPI_LUT, "raspi4", d.lat_rpi, None, "none", _RPI_TARGET),
        lut_estimate(
            _HOST_LUT, "synthetic host", d.lat_host, d.en_host, "model:horowitz45nm" if energy else "none", host_target
        ),
    ]
    params = int(20000 + 3000 * _OP_ACC[d.choice].sum())
    flops = int(1e6 + 4e5 * _OP_MS[d.choice].sum())
    iqr = 0.05 if meas is not None else None
    acc_int8 = d.acc - 0.002 * (1 + t % 5)  # int8 only: 0.2 to 1.0 points lost
    measured = measurement(meas, iqr, _HOST_DEVICE, target)
    metrics = metrics_record(d.acc, params, flops, d.ops, estimates, measured, target, acc_int8)
    write_json(os.path.join(tdir, CHILD, METRICS), metrics)
    return done_row(f"{t:05d}", d.acc, d.lat_rpi, None, meas, 95.0 + t % 7, d.ops, _HOST_DEVICE)


def _write_trial(tdir: str, t: int, status: str, rng, energy: bool, measured: bool, target: dict) -> None:
    d = _draw(rng, t, energy)
    write_json(os.path.join(tdir, PARAMS), d.knobs)
    rows = _search_rows(f"{t:05d}", d.lat_rpi)
    if status == "failed":
        with open(os.path.join(tdir, "error.txt"), "w", encoding="utf-8") as fh:
            fh.write(_ERROR_TXT)
    else:
        arch = arch_record(d.ops, d.lat_rpi, None, "none", _RPI_LUT, picked="argmax", arch_seed=t)
        write_json(os.path.join(tdir, SEARCH, ARCH), arch)
    if status == "finished":
        meas = d.lat_host * float(rng.normal(1.05, 0.08)) if measured else None
        rows.append(_write_finished(tdir, t, d, meas, energy, target))
    write_result_rows(os.path.join(tdir, RESULT), rows)


def write_synthetic_experiment(
    root: str,
    trials: int = 30,
    seed: int = 0,
    failed: int = 2,
    running: int = 2,
    energy: bool = True,
    measured: bool = True,
    baselines: bool = True,
    runtime: str = "executorch",
    precision: str = "fp32",
) -> str:
    """Create ``root`` (an experiment dir) with ``trials`` trial folders; returns ``root``.

    The first ``failed`` trials have error.txt, the next ``running`` have no metrics.json yet.
    ``energy=False``: no LUT has energy (``energy_mj`` null everywhere). ``runtime``/``precision``:
    the deployment target (int8: each childnet's int8 program lost 0.2 to 1.0 points).
    """
    rng = np.random.default_rng(seed)
    target = deploy_record(runtime, precision)
    os.makedirs(root, exist_ok=True)
    sweep = sweep_record(trials, [_RPI_LUT, _HOST_LUT], energy=energy, target=target)
    write_json(os.path.join(root, RECORD), sweep)
    if baselines:
        write_json(os.path.join(root, BASELINES), _baselines(target))
    for t in range(trials):
        status = "failed" if t < failed else "running" if t < failed + running else "finished"
        _write_trial(os.path.join(root, f"trial_{t:05d}"), t, status, rng, energy, measured, target)
    return root


def write_rows_experiment(
    root: str,
    rows: list,
    strategy: str = "dnas",
    lut: str = "host.json",
    budget: dict | None = None,
    baselines: list | None = None,
    runtime: str = "executorch",
    precision: str = "fp32",
) -> str:
    """Create ``root`` with one FINISHED trial per row; returns ``root``.

    A row is a dict with ``test_acc`` and ``lut_latency_ms`` (the search LUT's latency), and optionally
    ``measured_latency_ms`` (None: not measured), ``lut_energy_mj`` (LUT energy, modeled), the knobs
    ``alpha``..``delta`` (a random-strategy trial has none: its params are its ``ops``) and ``ops``.
    ``budget``: the config's ``sweep.budget`` (``{"max_latency_ms": ..., "max_energy_mj": ...}``).
    ``baselines``: the rows of ``baselines.json`` (None: no such file). ``runtime``/``precision``:
    the deployment target; an int8 row may give ``test_acc_int8`` (default: 1 point below ``test_acc``).
    """
    target = deploy_record(runtime, precision)
    os.makedirs(root, exist_ok=True)
    write_json(os.path.join(root, RECORD), sweep_record(len(rows), [lut], strategy, budget, target=target))
    if baselines is not None:
        write_json(os.path.join(root, BASELINES), baselines)
    for t, row in enumerate(rows):
        _write_row_trial(os.path.join(root, f"trial_{t:05d}"), t, row, lut, target)
    return root


def _write_row_trial(tdir: str, t: int, row: dict, lut: str, target: dict) -> None:
    ops = list(row.get("ops") or [FBNET_OPS[t % len(FBNET_OPS)]] * LAYERS)
    knobs = {k: row[k] for k in ("alpha", "beta", "gamma", "delta") if row.get(k) is not None}
    write_json(os.path.join(tdir, PARAMS), knobs or {"ops": ops, "arch_index": t})
    energy = row.get("lut_energy_mj")
    source = "model:horowitz45nm" if energy is not None else "none"
    picked = dict(picked="argmax", arch_seed=t) if knobs else dict(picked="random", arch_index=t, seed=0)
    arch = arch_record(ops, row["lut_latency_ms"], energy, source, lut, **picked)
    write_json(os.path.join(tdir, SEARCH, ARCH), arch)
    measured = row.get("measured_latency_ms")
    device = None if measured is None else _HOST_DEVICE
    iqr = None if measured is None else 0.01
    key = f"{target['runtime']}-{target['precision']}"
    estimate = lut_estimate(lut, "synthetic host", row["lut_latency_ms"], energy, source, key)
    metrics = metrics_record(
        row["test_acc"],
        1000,
        10000,
        ops,
        [estimate],
        measurement(measured, iqr, device, target),
        target,
        row.get("test_acc_int8"),
    )
    write_json(os.path.join(tdir, CHILD, METRICS), metrics)
    done = done_row(f"{t:05d}", row["test_acc"], row["lut_latency_ms"], energy, measured, 1.0, ops, device)
    write_result_rows(os.path.join(tdir, RESULT), [done])
