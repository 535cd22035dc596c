"""The sweep's quiet measurement phase: childnets and baselines timed on the host when
nothing else of the sweep computes on it.

Why: when ``measure.device`` is ``local`` the device that is timed also trains. A
childnet timed while the other trial trained on the second core read IQRs of 2.4-2.6x
its median, and a LUT profiled while Ray started was 2-3x off. So trials only export
their childnets (``measured.pending``), and after the last trial, with Ray shut down,
the driver times every *distinct* architecture once, plus the baselines, with the
LUT's own protocol and speed reference (``childnet.measure.measure_files``).

Progress lives in ``measurements.json`` (``docs/formats.md``), written after every
group of models, so a sweep killed in this phase resumes it without timing again what
was recorded. Then each trial's ``child/metrics.json`` gets its ``measured`` entry
(``model_of`` names the trial whose model was timed, for trials that reused another's
childnet or found the same architecture) and ``baselines.json`` its latencies.

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
import signal
import subprocess
import sys
import time
from pathlib import Path

from childnet.export import DATA_NAME
from hwnas.config import ExperimentConfig
from hwnas.errors import Interrupted, child_env, cli_main, install_stop_handlers, resume_hint
from sweep.baselines import MEASURED_KEYS
from sweep.experiment import lock_experiment, read_record, write_json

__all__ = ["MEASUREMENTS", "PENDING", "main", "measure_pending", "measurement_phase", "pending_models"]

MEASUREMENTS = "measurements.json"
# what a baseline's row keeps of its measurement beyond a device's (sweep.baselines.MEASURED_KEYS)
_FIDELITY_KEYS = ("rel_iqr", "noisy", "latency_ms_at_lut_speed", "speed_factor")
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


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _timed_file(model, weights) -> str:
    """What the device times: the deployed program (``.pte``, ``.onnx``), else the data file
    (eager PyTorch, TorchScript: a TorchScript ``model.pt`` is code and is never loaded)."""
    return model if str(model).endswith((".pte", ".onnx")) else (weights or DATA_NAME)


def pending_models(experiment: Path) -> dict[str, dict]:
    """``{key: {"ops", "model", "model_of", "trials"}}`` for every distinct childnet
    whose trials wait for a measurement (key: the space-separated ops)."""
    found: dict[str, dict] = {}
    for metrics_path in sorted(experiment.glob("*/child/metrics.json")):
        metrics = _read(metrics_path)
        if not metrics or not (metrics.get("measured") or {}).get("pending"):
            continue
        trial = metrics_path.parent.parent.name
        key = " ".join(metrics["ops"])
        entry = found.setdefault(key, {"ops": metrics["ops"], "model": None, "model_of": None, "trials": []})
        entry["trials"].append(trial)
        owner = metrics.get("reused_from") or trial
        model = experiment / owner / "child" / Path(_timed_file(metrics.get("model"), metrics.get("weights"))).name
        if entry["model"] is None and model.is_file():
            entry.update(model=str(model), model_of=owner)
    return found


def _baseline_rows(experiment: Path) -> list[dict]:
    rows = json.loads((experiment / "baselines.json").read_text()) if (experiment / "baselines.json").is_file() else []
    return [r for r in rows if isinstance(r, dict)]


def measure_pending(cfg: ExperimentConfig, experiment: Path, reference: dict | None, *, measure_fn=None) -> dict:
    """Time every pending childnet and baseline once, record them, fill them in.
    ``measure_fn(paths, on_group=...)`` stands for ``childnet.measure.measure_files``
    with the config's protocol (tests pass a fake device). Returns the phase's summary."""
    if measure_fn is None:
        from childnet.measure import measure_files

        def measure_fn(paths, on_group):
            return measure_files(
                paths, reference=reference, on_group=on_group, target=cfg.deploy.target(), **cfg.measure.protocol()
            )

    state_path = experiment / MEASUREMENTS
    state = _read(state_path) or {"reference": reference, "protocol": cfg.measure.protocol(), "models": {}}
    models = pending_models(experiment)
    baselines = {
        f"baseline:{r['name']}": {
            "model": str(
                experiment / _timed_file(r.get("model"), r.get("weights") or f"baselines/{r['name']}.weights.pt")
            )
        }
        for r in _baseline_rows(experiment)
        if r.get("pending")
    }
    todo = [
        (key, item["model"])
        for key, item in {**models, **baselines}.items()
        if key not in state["models"] and item.get("model")
    ]

    def record(done: dict) -> None:
        for i, measured in done.items():
            key = todo[i][0]
            state["models"][key] = {"model": todo[i][1], "measured": measured}
        write_json(state_path, state)

    if todo:
        measure_fn([path for _, path in todo], on_group=record)
    _fill_trials(experiment, models, state["models"])
    _fill_baselines(experiment, state["models"])
    return {
        "timed": len(todo),
        "distinct": len(models),
        "baselines": len(baselines),
        "noisy": sorted(k for k, v in state["models"].items() if v["measured"].get("noisy")),
    }


def _fill_trials(experiment: Path, models: dict, timed: dict) -> None:
    for key, item in models.items():
        if key not in timed:
            continue  # no model file (export off): stays pending, said in its note
        for trial in item["trials"]:
            path = experiment / trial / "child" / "metrics.json"
            metrics = _read(path)
            metrics["measured"] = dict(timed[key]["measured"], model_of=item["model_of"])
            write_json(path, metrics)


def _fill_baselines(experiment: Path, timed: dict) -> None:
    rows = _baseline_rows(experiment)
    changed = False
    for row in rows:
        measured = (timed.get(f"baseline:{row.get('name')}") or {}).get("measured")
        if row.get("pending") and measured:
            row.update({k: measured.get(k) for k in (*MEASURED_KEYS, *_FIDELITY_KEYS)})
            row.pop("pending")
            changed = True
    if changed:
        write_json(experiment / "baselines.json", rows)


def measurement_phase(cfg: ExperimentConfig, experiment: Path, lock=None) -> dict:
    """This host is the device: with every trial done and Ray shut down, time what the
    trials exported (``sweep.measurements``), under the caller's experiment ``lock``."""
    import ray

    ray.shutdown()  # Ray's own processes are the last thing computing on the host
    install_stop_handlers()  # ray.shutdown left SIGTERM's default action (end at once) in place
    # a fresh process: this one, after Ray ran in it, timed models 12-20 % slower. Its own
    # session: a Ctrl-C reaches this process only, which passes it on and waits (_run_child).
    env = child_env()
    child = subprocess.Popen(
        [sys.executable, "-m", "sweep.measurements", str(experiment)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **(lock.child(env) if lock else {"env": env}),
    )
    out = _run_child(child)
    phase = json.loads(out.strip().splitlines()[-1])
    noisy = f", still noisy after {cfg.measure.tries} tries: {', '.join(phase['noisy'])}" if phase["noisy"] else ""
    print(
        f"measured {phase['timed']} models on this host ({phase['distinct']} distinct childnets waiting, "
        f"{phase['baselines']} baselines) in {phase['seconds']:.1f} s{noisy}"
    )
    return phase


def _run_child(child: subprocess.Popen, grace_s: float = 60) -> str:
    """The child's stdout once it ends; a signal to this process is passed on and waited for
    (it stops in order, within ``grace_s``), a child stopped by one stops this process too."""
    try:
        out, _ = child.communicate()
    except KeyboardInterrupt as err:
        child.send_signal(getattr(err, "signum", signal.SIGINT))
        try:
            child.wait(grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    if child.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM):
        raise Interrupted(child.returncode - 128)
    if child.returncode != 0:
        raise SystemExit(child.returncode)  # its one-line error is on stderr already
    return out


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m sweep.measurements",
        description="Time the childnets and baselines a sweep left pending on this host.",
    )
    p.add_argument("experiment", help="the sweep's experiment directory")
    experiment = Path(p.parse_args(argv).experiment)
    read_record(experiment)  # no sweep there: its one line, before the lock makes a folder
    resume_hint(f"continue: python -m sweep.run --resume --storage {experiment.parent} --name {experiment.name}")
    with lock_experiment(experiment, "sweep.measurements"):  # sweep.run's own when it started this
        _measure(experiment)


def _measure(experiment: Path) -> None:
    record, cfg = read_record(experiment)
    from lut import load_lut

    reference = load_lut(record["lut"]["path"], cfg.lut.energy_kind).measurement_reference()
    started = time.perf_counter()
    phase = measure_pending(cfg, experiment, reference)
    print(json.dumps(dict(phase, seconds=time.perf_counter() - started)))


if __name__ == "__main__":
    main()
