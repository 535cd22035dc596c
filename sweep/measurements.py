"""The sweep's quiet measurement phase: childnets and baselines timed on the host when
nothing else of the sweep computes on it.

Why: when ``measure.device`` is ``local`` the device that is timed also trains. A
childnet timed while the other trial trained on the second core read IQRs of 2.4-2.6x
its median, and a LUT profiled while Ray started was 2-3x off. So trials only export
their childnets (``measured.pending``), and after the last trial, with Ray shut down,
the driver times every *distinct* architecture once, plus the baselines, with the
LUT's own protocol and speed reference (``childnet.measure.measure_files``).

Each measurement is written once, where it is produced: in ``measurements.json``
(``docs/formats.md``), written after every group of models, so a sweep killed in this
phase resumes it without timing again what was recorded. Each entry names the file timed
(``model``) and, for a childnet, ``model_of``: the trial whose model it is (trials that
reused another's childnet or found the same architecture share it). The trials'
``child/metrics.json`` and ``baselines.json`` keep ``measured.pending``; their readers join
the measurement (``hwnas.measured``).

Every file the phase reads is checked before it times anything: a damaged ``metrics.json``
or ``baselines.json`` is one line naming it (never skipped: its model would stay
unmeasured); a damaged ``measurements.json`` is one line offering ``--remeasure``, which
sets the file aside (``measurements.json.damaged``) or drops the entries that cannot be
read, and times their models again: a measurement can be rebuilt from the model files.

The phase runs in a process of its own (``python -m sweep.measurements EXPERIMENT``,
which ``sweep.run`` starts): measured here, the sweep's driver process, after Ray had
run in it, timed the same models 12-20 % slower than a fresh process (and the speed
reference with them), so the LUT, profiled in a fresh process, seemed 12-20 % off.

On a cluster the device is another machine: trials measure there as they finish
(``sweep.device.measure_on_device``), concurrently with training on the head.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import childnet.measure  # its measure_files looked up at call time: tests stand a guard in for it
from hwnas.config import ExperimentConfig
from hwnas.errors import UserError, cli_main, resume_hint, run_child
from hwnas.layout import MEASUREMENTS, WEIGHTS, child_dir
from hwnas.measured import (
    bad_entries,
    bad_entries_error,
    baseline_key,
    childnet_key,
    read_measurement_record,
)
from hwnas.ray_connect import disconnect  # imports Ray only when called
from lut import load_lut
from sweep.experiment import (
    continue_command,
    lock_experiment,
    read_baselines,
    read_metrics,
    read_record,
    set_aside,
    trial_metrics,
    write_json,
)

__all__ = [
    "PENDING",
    "check_measurements",
    "main",
    "measure_pending",
    "measurement_phase",
    "pending_models",
]

PENDING = {
    "latency_ms": None,
    "latency_iqr_ms": None,
    "energy_mj": None,
    "energy_dynamic_mj": None,
    "idle_w": None,
    "energy_source": "none",
    "device": None,
    "threads": None,
    "batch_size": None,
    "pending": True,
    "note": "measured after the trials, in the sweep's quiet measurement phase",
}


def _read_state(experiment: Path, remeasure: bool) -> dict | None:
    """``measurements.json`` (None: not written yet). Damage is one ``UserError`` line
    offering ``--remeasure``; with it, the damaged file is set aside (``<name>.damaged``)
    and what can be read of it returned (None: nothing), without the bad entries."""
    path = experiment / MEASUREMENTS
    try:
        state = read_measurement_record(experiment)
    except UserError:
        if not remeasure:
            raise
        set_aside(path)
        return None
    if state is None:
        return None
    bad = bad_entries(state)
    if bad and not remeasure:
        raise bad_entries_error(experiment, bad)
    if bad:  # remeasure: the file as it was is kept; the caller writes it again without them
        set_aside(path)
    for key in bad:
        del state["models"][key]
    return state


def check_measurements(experiment: Path) -> None:
    """``UserError`` (offering ``--remeasure``) when ``measurements.json`` is damaged."""
    _read_state(Path(experiment), remeasure=False)


def _timed_file(model, weights) -> str:
    """What the device times: the deployed program (``.pte``, ``.onnx``), else the data file
    (eager PyTorch, TorchScript: a TorchScript ``model.pt`` is code and is never loaded)."""
    return model if str(model).endswith((".pte", ".onnx")) else (weights or WEIGHTS)


def pending_models(experiment: Path) -> dict[str, dict]:
    """``{key: {"ops", "model", "model_of", "trials"}}`` for every distinct childnet
    whose trials wait for a measurement (key: the space-separated ops)."""
    found: dict[str, dict] = {}
    for metrics_path in trial_metrics(experiment):
        metrics = read_metrics(metrics_path)  # damaged: one line, never skipped (it would stay unmeasured)
        if not (metrics.get("measured") or {}).get("pending"):
            continue
        trial = metrics_path.parent.parent.name
        key = childnet_key(metrics["ops"])
        entry = found.setdefault(key, {"ops": metrics["ops"], "model": None, "model_of": None, "trials": []})
        entry["trials"].append(trial)
        owner = metrics.get("reused_from") or trial
        model = child_dir(experiment / owner) / Path(_timed_file(metrics.get("model"), metrics.get("weights"))).name
        if entry["model"] is None and model.is_file():
            entry.update(model=str(model), model_of=owner)
    return found


def _pending_baselines(experiment: Path) -> dict[str, dict]:
    """``{"baseline:<name>": {"model": the file to time}}`` of every baseline row still pending."""
    return {
        baseline_key(r["name"]): {
            "model": str(
                experiment / _timed_file(r.get("model"), r.get("weights") or f"baselines/{r['name']}.weights.pt")
            )
        }
        for r in read_baselines(experiment)
        if (r.get("measured") or {}).get("pending")
    }


def measure_pending(
    cfg: ExperimentConfig, experiment: Path, reference: dict | None, *, measure_fn=None, remeasure: bool = False
) -> dict:
    """Time every pending childnet and baseline that ``measurements.json`` does not hold yet,
    once, and record it there (the one place it is written: ``hwnas.measured`` joins it).
    ``measure_fn(paths, on_group=...)`` stands for ``childnet.measure.measure_files``
    with the config's protocol (tests pass a fake device). ``remeasure``: time again the
    models whose entries in a damaged ``measurements.json`` cannot be read (module docstring).
    Returns the phase's summary."""
    if measure_fn is None:

        def measure_fn(paths, on_group):
            return childnet.measure.measure_files(
                paths, reference=reference, on_group=on_group, target=cfg.deploy.target(), **cfg.measure.protocol()
            )

    models, baselines, state = _waiting(experiment, remeasure)
    state_path = experiment / MEASUREMENTS
    if state is None:
        state = {"reference": reference, "protocol": cfg.measure.protocol(), "models": {}}
    if remeasure:
        write_json(state_path, state)  # without the damage, before anything is timed
    waiting = _untimed(models, baselines, state)
    todo = [(key, item) for key, item in waiting.items() if item.get("model")]

    def record(done: dict) -> None:
        for i, measured in done.items():
            key, item = todo[i]
            owner = {"model_of": item["model_of"]} if item.get("model_of") else {}
            state["models"][key] = {"model": item["model"], **owner, "measured": measured}
        write_json(state_path, state)

    if todo:
        measure_fn([item["model"] for _, item in todo], on_group=record)
    return {
        "timed": len(todo),
        "distinct": sum(key in models for key in waiting),
        "baselines": sum(key in baselines for key in waiting),
        "noisy": _noisy(state),
    }


def _waiting(experiment: Path, remeasure: bool) -> tuple[dict, dict, dict | None]:
    """The pending childnets and baselines (every file they name checked before the state
    is touched) and ``measurements.json``'s state (``_read_state``)."""
    models = pending_models(experiment)
    baselines = _pending_baselines(experiment)
    return models, baselines, _read_state(experiment, remeasure)


def _untimed(models: dict, baselines: dict, state: dict | None) -> dict:
    """The pending childnets and baselines that ``state`` (``measurements.json``) has no measurement of."""
    timed = state["models"] if state else {}
    return {key: item for key, item in {**models, **baselines}.items() if key not in timed}


def _noisy(state: dict | None) -> list[str]:
    timed = state["models"] if state else {}
    return sorted(k for k, v in timed.items() if v["measured"].get("noisy"))


def _nothing_to_time(experiment: Path) -> dict | None:
    """The phase's summary when no model waits for a measurement (then no process is
    started for it); None when one waits, or when a file is damaged: the phase's own
    process says so, in its one line."""
    try:
        models, baselines, state = _waiting(experiment, remeasure=False)
    except UserError:
        return None
    if _untimed(models, baselines, state):
        return None
    return {"timed": 0, "distinct": 0, "baselines": 0, "noisy": _noisy(state), "seconds": 0.0}


def measurement_phase(cfg: ExperimentConfig, experiment: Path, remeasure: bool = False, lock=None) -> dict:
    """This host is the device: with every trial done and Ray shut down, time what the
    trials exported (``sweep.measurements``; ``remeasure``: its ``--remeasure``), under the
    caller's experiment ``lock``; no process started when nothing waits (a resumed sweep)."""
    disconnect()  # Ray's own processes are the last thing computing on the host
    phase = None if remeasure else _nothing_to_time(experiment)
    if phase is None:
        # a fresh process: this one, after Ray ran in it, timed models 12-20 % slower
        argv = [sys.executable, "-m", "sweep.measurements", str(experiment)] + (["--remeasure"] if remeasure else [])
        phase = json.loads(run_child(argv, lock).strip().splitlines()[-1])
    noisy = f", still noisy after {cfg.measure.tries} tries: {', '.join(phase['noisy'])}" if phase["noisy"] else ""
    print(
        f"measured {phase['timed']} models on this host ({phase['distinct']} distinct childnets waiting, "
        f"{phase['baselines']} baselines) in {phase['seconds']:.1f} s{noisy}"
    )
    return phase


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m sweep.measurements",
        description="Time the childnets and baselines a sweep left pending on this host.",
    )
    p.add_argument("experiment", help="the sweep's experiment directory")
    p.add_argument(
        "--remeasure",
        action="store_true",
        help=f"{MEASUREMENTS} is damaged: set aside what cannot be read and time those models again",
    )
    args = p.parse_args(argv)
    experiment = Path(args.experiment)
    read_record(experiment)  # no sweep there: its one line, before the lock makes a folder
    resume_hint(continue_command(experiment.parent, experiment.name))
    with lock_experiment(experiment, "sweep.measurements"):  # sweep.run's own when it started this
        _measure(experiment, args.remeasure)


def _measure(experiment: Path, remeasure: bool) -> None:
    record, cfg = read_record(experiment)
    reference = load_lut(record["lut"]["path"], cfg.lut.energy_kind).measurement_reference()
    started = time.perf_counter()
    phase = measure_pending(cfg, experiment, reference, remeasure=remeasure)
    print(json.dumps(dict(phase, seconds=time.perf_counter() - started)))


if __name__ == "__main__":
    main()
