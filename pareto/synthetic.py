"""Writes a synthetic sweep experiment directory in the layout of ``docs/formats.md``.

For tests, the scale bench and demos of the report only: the numbers are made up (seeded) and
the files say so (``"synthetic": true`` in sweep.json). Finished, running and failed trials,
two LUTs (one with modeled energy), a measured latency without an energy meter.
``write_rows_experiment`` writes finished trials with exactly the given values (hand-checked tests).
"""

import json
import os

import numpy as np

__all__ = ["FBNET_OPS", "write_rows_experiment", "write_synthetic_experiment"]

# The FBNet op names (kept here as data: pareto must not import hwnas).
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
_LAYERS = 22
# made-up per-op costs (ms, mJ) on two devices; skip is the cheapest
_OP_MS = np.array([0.30, 0.22, 0.65, 1.10, 0.45, 0.33, 0.95, 1.70, 0.02])
_OP_MJ = np.array([0.10, 0.07, 0.22, 0.40, 0.15, 0.11, 0.33, 0.60, 0.01])
_OP_ACC = np.array([0.60, 0.45, 0.90, 1.10, 0.75, 0.55, 1.00, 1.20, 0.0])


def _write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh)


def _sweep_record(
    trials: int, luts: list, strategy: str = "dnas", budget: dict | None = None, energy: bool = True
) -> dict:
    """sweep.json as ``sweep.run`` writes it (``hwnas.records.SweepRecord``), marked synthetic."""
    sweep = {
        "trials": trials,
        "strategy": strategy,
        "budget": budget or {"max_latency_ms": None, "max_energy_mj": None},
    }
    return {
        "config": {"sweep": sweep},
        "trials": trials,
        "strategy": strategy,
        "mode": "any",
        "objective": "multi",
        "metrics": ["test_acc", "latency_ms"] + (["energy_mj"] if energy else []),
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
        },
        "device": "local",
        "knobs": None,
        "warmup": None,
        "baselines": "baselines.json",
        "runs": [],
        "synthetic": True,
    }


def _metrics(acc, params, flops, ops, space, estimates, measured) -> dict:
    """child/metrics.json as ``childnet.train`` writes it (``hwnas.records.MetricsRecord``)."""
    return {
        "test_acc": acc,
        "params": params,
        "flops": flops,
        "ops": ops,
        "space": space,
        "lut": estimates[0],
        "lut_estimates": estimates,
        "measured": measured,
        "train_seconds": 40.0,
        "epochs": 3,
        "model": "model.pt",
        "weights": "model.weights.pt",
        "reused_from": None,
    }


def _done_row(trial_id, acc, lat, energy, measured, seconds, ops, device) -> dict:
    """The last result.json row as ``sweep.trial`` reports it (``hwnas.records.ResultRow``) plus
    the keys Ray Tune adds (``trial_id``, ``time_total_s``)."""
    return {
        "phase": "done",
        "epoch": 3,
        "trial_id": trial_id,
        "test_acc": acc,
        "latency_ms": lat,
        "energy_mj": energy,
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


def write_synthetic_experiment(
    root: str,
    trials: int = 30,
    seed: int = 0,
    failed: int = 2,
    running: int = 2,
    energy: bool = True,
    measured: bool = True,
    baselines: bool = True,
) -> str:
    """Create ``root`` (an experiment dir) with ``trials`` trial folders; returns ``root``.

    The first ``failed`` trials have error.txt, the next ``running`` have no metrics.json yet.
    ``energy=False``: no LUT has energy (``energy_mj`` null everywhere).
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    space = {"name": "fbnet-cifar", "width": 0.25, "num_classes": 10, "hash": "synthetic", "layers_hash": "synthetic"}
    _write_json(
        os.path.join(root, "sweep.json"), _sweep_record(trials, ["builtin:rpi4-hwnasbench", "host.json"], energy=energy)
    )
    if baselines:
        _write_json(
            os.path.join(root, "baselines.json"),
            [
                {
                    "name": "mobilenet_v2",
                    "latency_ms": 38.0,
                    "latency_iqr_ms": 0.8,
                    "energy_mj": None,
                    "energy_source": "none",
                    "device": "synthetic host",
                    "params": 2236682,
                    "flops": 6.3e7,
                    "test_acc": None,
                    "note": "torchvision MobileNetV2, 32x32 input, not trained",
                },
                {
                    "name": "resnet18_cifar",
                    "latency_ms": 55.0,
                    "latency_iqr_ms": 1.2,
                    "energy_mj": None,
                    "energy_source": "none",
                    "device": "synthetic host",
                    "params": 11173962,
                    "flops": 5.6e8,
                    "test_acc": 0.93,
                    "note": "ResNet-18 adapted to 32x32",
                },
            ],
        )
    for t in range(trials):
        dominant = ("latency", "energy")[t % 2]
        params = {
            "alpha": float(rng.uniform(0.01, 2.0)),
            "beta": float(rng.uniform(0.3, 1.5)),
            "gamma": float(rng.uniform(0.01, 2.0)),
            "delta": float(rng.uniform(0.3, 1.5)),
            "dominant": dominant,
            "dominance": 0.05,
        }
        # heavier cost weight -> cheaper ops (skip and small kernels more likely)
        pressure = params["alpha"] * params["beta"] + params["gamma"] * params["delta"]
        logits = _OP_ACC - 0.6 * pressure * _OP_MS + rng.normal(0, 0.6, size=(_LAYERS, len(FBNET_OPS)))
        choice = logits.argmax(axis=1)
        ops = [FBNET_OPS[i] for i in choice]
        lat_rpi = 4.0 + float(_OP_MS[choice].sum()) * 3.0
        lat_host = 1.0 + float(_OP_MS[choice].sum())
        en_host = 0.2 + float(_OP_MJ[choice].sum()) if energy else None
        acc = float(np.clip(0.55 + 0.02 * _OP_ACC[choice].sum() + rng.normal(0, 0.01), 0, 0.99))
        trial_id = f"{t:05d}"
        tdir = os.path.join(root, f"trial_{trial_id}")
        _write_json(os.path.join(tdir, "params.json"), params)
        rows = [
            {
                "epoch": e,
                "phase": "search",
                "trial_id": trial_id,
                "latency_ms": lat_rpi,
                "energy_mj": None,
                "trial_seconds": 10.0 * (e + 1),
                "time_total_s": 10.0 * (e + 1) + 2.0,
            }
            for e in range(3)
        ]
        status = "failed" if t < failed else "running" if t < failed + running else "finished"
        if status == "failed":
            with open(os.path.join(tdir, "error.txt"), "w", encoding="utf-8") as fh:
                fh.write(
                    "Failure # 1 (occurred at 2026-11-23_18:00:00)\nTraceback (most recent call last):\n"
                    '  File "supernet/search.py", line 1, in run\n'
                    "RuntimeError: synthetic failure: loss became NaN at epoch 2\n\n"
                )
        if status != "failed":
            lut_est = [
                {
                    "name": "builtin:rpi4-hwnasbench",
                    "device": "raspi4",
                    "latency_ms": lat_rpi,
                    "energy_mj": None,
                    "energy_source": "none",
                },
                {
                    "name": "host.json",
                    "device": "synthetic host",
                    "latency_ms": lat_host,
                    "energy_mj": en_host,
                    "energy_source": "model:horowitz45nm" if energy else "none",
                },
            ]
            _write_json(
                os.path.join(tdir, "search", "arch.json"),
                {
                    "space": space,
                    "ops": ops,
                    "latency_ms": lat_rpi,
                    "energy_mj": None,
                    "energy_source": "none",
                    "lut": "builtin:rpi4-hwnasbench",
                    "picked": "argmax",
                    "arch_seed": t,
                },
            )
        if status == "finished":
            meas = lat_host * float(rng.normal(1.05, 0.08)) if measured else None
            device = "synthetic host (host)"
            metrics = _metrics(
                acc,
                int(20000 + 3000 * _OP_ACC[choice].sum()),
                int(1e6 + 4e5 * _OP_MS[choice].sum()),
                ops,
                space,
                lut_est,
                {
                    "latency_ms": meas,
                    "latency_iqr_ms": 0.05 if measured else None,
                    "energy_mj": None,
                    "energy_source": "none",
                    "device": device,
                    "threads": 1,
                    "batch_size": 1,
                },
            )
            _write_json(os.path.join(tdir, "child", "metrics.json"), metrics)
            rows.append(_done_row(trial_id, acc, lat_rpi, None, meas, 95.0 + t % 7, ops, device))
        with open(os.path.join(tdir, "result.json"), "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    return root


def write_rows_experiment(
    root: str,
    rows: list,
    strategy: str = "dnas",
    lut: str = "host.json",
    budget: dict | None = None,
    baselines: list | None = None,
) -> str:
    """Create ``root`` with one FINISHED trial per row; returns ``root``.

    A row is a dict with ``test_acc`` and ``latency_ms`` (the search LUT's latency), and optionally
    ``measured_latency_ms`` (None: not measured), ``energy_mj`` (LUT energy, modeled), the knobs
    ``alpha``..``delta`` (a random-strategy trial has none: its params are its ``ops``) and ``ops``.
    ``budget``: the config's ``sweep.budget`` (``{"max_latency_ms": ..., "max_energy_mj": ...}``).
    ``baselines``: the rows of ``baselines.json`` (None: no such file).
    """
    os.makedirs(root, exist_ok=True)
    space = {"name": "fbnet-cifar", "width": 0.25, "num_classes": 10, "hash": "synthetic", "layers_hash": "synthetic"}
    _write_json(os.path.join(root, "sweep.json"), _sweep_record(len(rows), [lut], strategy, budget))
    if baselines is not None:
        _write_json(os.path.join(root, "baselines.json"), baselines)
    for t, row in enumerate(rows):
        tdir = os.path.join(root, f"trial_{t:05d}")
        ops = list(row.get("ops") or [FBNET_OPS[t % len(FBNET_OPS)]] * _LAYERS)
        knobs = {k: row[k] for k in ("alpha", "beta", "gamma", "delta") if row.get(k) is not None}
        _write_json(os.path.join(tdir, "params.json"), knobs or {"ops": ops, "arch_index": t})
        energy = row.get("energy_mj")
        source = "model:horowitz45nm" if energy is not None else "none"
        estimate = {
            "name": lut,
            "device": "synthetic host",
            "latency_ms": row["latency_ms"],
            "energy_mj": energy,
            "energy_source": source,
        }
        arch = {
            "space": space,
            "ops": ops,
            "latency_ms": row["latency_ms"],
            "energy_mj": energy,
            "energy_source": source,
            "lut": lut,
        }
        _write_json(
            os.path.join(tdir, "search", "arch.json"),
            dict(arch, picked="argmax", arch_seed=t) if knobs else dict(arch, picked="random", arch_index=t, seed=0),
        )
        measured = row.get("measured_latency_ms")
        device = None if measured is None else "synthetic host (host)"
        _write_json(
            os.path.join(tdir, "child", "metrics.json"),
            _metrics(
                row["test_acc"],
                1000,
                10000,
                ops,
                space,
                [estimate],
                {
                    "latency_ms": measured,
                    "latency_iqr_ms": None if measured is None else 0.01,
                    "energy_mj": None,
                    "energy_source": "none",
                    "device": device,
                    "threads": 1,
                    "batch_size": 1,
                },
            ),
        )
        with open(os.path.join(tdir, "result.json"), "w", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    _done_row(f"{t:05d}", row["test_acc"], row["latency_ms"], energy, measured, 1.0, ops, device)
                )
                + "\n"
            )
    return root
