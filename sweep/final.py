"""The sweep's final stage: the take-home model(s) trained with the ``final`` recipe
(``childnet.finalize``) after the measurement phase, into ``<experiment>/final/<trial folder>/``.

Which: the recommended model (``pareto.recommended``: the report's rule, judged on the
measurements), then, for ``final.top_k`` > 1, the rule's next picks among the other
architectures. The stage runs in a process of its own (``python -m sweep.final
EXPERIMENT``, started by ``sweep.run``) for the reason the measurement phase does: the
final model is timed there, away from the driver's Ray state. A model whose
``metrics.json`` is written is done; an interrupted one continues from its checkpoint, so
``sweep.run --resume`` finishes the stage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from childnet.finalize import finalize
from hwnas.config import ExperimentConfig
from hwnas.errors import UserError, cli_main, resume_hint, run_child
from hwnas.io import read_json
from hwnas.keys import upgrade
from hwnas.layout import CHECKPOINT, METRICS, REPORT, final_dir
from pareto.experiment import read_experiment
from pareto.final_model import final_line, read_final_models
from pareto.recommended import recommended_models
from sweep.experiment import continue_command, lock_experiment, read_record

__all__ = ["chosen_models", "final_stage", "main"]


def chosen_models(experiment: Path, k: int) -> list[dict]:
    """The recommended model and the rule's next ``k - 1`` picks of other architectures
    (``pareto.recommended.recommended_models``)."""
    exp = read_experiment(str(experiment), skip_dir=str(experiment / REPORT))
    return recommended_models(exp, k)


def _read_final(path: Path) -> dict:
    return upgrade(read_json(path, "final model metrics"), "metrics", str(path))


def _finalize_one(cfg: ExperimentConfig, experiment: Path, rec: dict) -> dict:
    out = final_dir(experiment, Path(rec["trial_dir"]).name)
    if (out / METRICS).is_file():
        return _read_final(out / METRICS)
    origin = {"trial": rec["trial_id"], "proxy_test_acc": rec["test_acc"]}
    arch = str(rec["ops"]).split()  # the trials table keeps ops space-separated

    def show(m):
        print(f"final {rec['trial_id']}: epoch {m['epoch']}/{m['epochs']} ({m['seconds']:.1f}s)", file=sys.stderr)

    resume = (out / CHECKPOINT).is_file()
    return finalize(cfg, arch, out, resume=resume, origin=origin, on_epoch=show)


def final_stage(cfg: ExperimentConfig, experiment: Path, lock=None) -> dict | None:
    """Train the take-home model(s) in a fresh process (sharing the caller's experiment
    ``lock``; a signal stops it in order), none started when every one is trained already (a
    resumed sweep); None when ``final.epochs`` is 0."""
    if cfg.final.epochs == 0:
        return None
    stage = _trained_already(experiment, cfg.final.top_k)
    if stage is None:
        out = run_child([sys.executable, "-m", "sweep.final", str(experiment)], lock)
        stage = json.loads(out.strip().splitlines()[-1])
    rows = read_final_models(str(experiment), [])
    first = stage["models"][0]["trial"]  # the recommended one
    print(final_line(sorted(rows, key=lambda r: r["trial_id"] != first)))
    return stage


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m sweep.final", description="Train a sweep's take-home model(s).")
    p.add_argument("experiment", help="the sweep's experiment directory")
    experiment = Path(p.parse_args(argv).experiment)
    read_record(experiment)  # no sweep there: its one line, before the lock makes a folder
    resume_hint(continue_command(experiment.parent, experiment.name))
    with lock_experiment(experiment, "sweep.final"):  # sweep.run's own when it started this
        _final(experiment)


def _final(experiment: Path) -> None:
    record, cfg = read_record(experiment)
    cfg = dataclasses.replace(cfg, lut=dataclasses.replace(cfg.lut, path=record["lut"]["path"]))  # the sweep's LUT
    chosen = chosen_models(experiment, cfg.final.top_k)
    if not chosen:
        raise UserError(f"{experiment}: no finished childnet to train as the final model")
    started = time.perf_counter()
    models = [_stage_row(experiment, rec, _finalize_one(cfg, experiment, rec)) for rec in chosen]
    print(json.dumps({"models": models, "seconds": time.perf_counter() - started}))


def _stage_row(experiment: Path, rec: dict, result: dict) -> dict:
    """What the stage says of one final model: its trial, proxy and final accuracy, measurement, file."""
    return {
        "trial": rec["trial_id"],
        "proxy_test_acc": rec["test_acc"],
        "test_acc": result["test_acc"],
        "test_acc_int8": (result.get("deploy") or {}).get("test_acc_int8"),
        "measured": result.get("measured"),
        "path": str(final_dir(experiment, Path(rec["trial_dir"]).name) / (result.get("model") or "")),
    }


def _trained_already(experiment: Path, k: int) -> dict | None:
    """The stage's summary when every chosen model's ``metrics.json`` is written (then no
    process is started for it); None otherwise: the stage's own process trains, or says in
    one line why it cannot (no finished childnet, a damaged file)."""
    try:
        chosen = chosen_models(experiment, k)
        outs = [final_dir(experiment, Path(rec["trial_dir"]).name) / METRICS for rec in chosen]
        if not chosen or not all(out.is_file() for out in outs):
            return None
        results = [_read_final(out) for out in outs]
    except UserError:
        return None
    return {"models": [_stage_row(experiment, r, m) for r, m in zip(chosen, results)], "seconds": 0.0}


if __name__ == "__main__":
    main()
