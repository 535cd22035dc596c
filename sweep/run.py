"""Run (or resume) a sweep: Ray Tune trials of supernet search + childnet retraining +
device measurement, with Optuna proposing the HANNA knobs.

    python -m sweep.run --trials 30                      # the default sweep, local Ray
    python -m sweep.run --trials 30 --address auto --config configs/cluster.yaml
    python -m sweep.run --resume --trials 40             # continue (and extend) it
    python -m sweep.run --strategy random --trials 30 --name random   # the random-architecture baseline
    python -m sweep.run --trials 30 --max-latency-ms 5   # recommend the best model under 5 ms

The experiment lives in ``<storage>/<name>/`` (defaults ``./experiments/default``) in
Ray Tune's layout plus ``sweep.json``, ``lut.json``, ``warmup.pt``, ``baselines.json``
(see ``docs/formats.md``). Without ``--config`` a new sweep uses
``configs/default.yaml`` and a resumed one its recorded config.

One process writes an experiment at a time (``sweep.experiment.lock_experiment``): a second
``sweep.run`` on it, new or ``--resume``, is refused in one line naming the holder. SIGINT or
SIGTERM stops the sweep in order (trials, Ray, the measurement phase) and exits 130 / 143 with
the ``--resume`` command; a full disk is one line, exit 2; either way ``--resume`` continues.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import signal
import time
from pathlib import Path

from hwnas.config import ExperimentConfig
from hwnas.data import check_dataset
from hwnas.errors import cli_main, raise_if_stopped, resume_hint, soft_stop
from hwnas.ray_connect import check_address
from sweep.experiment import RECORD, check_name, check_unlocked, lock_experiment, open_record, write_json
from sweep.knobs import KnobSampler, StartCosts
from sweep.measurements import measurement_phase
from sweep.options import build_parser, check_static, resolve_config
from sweep.prepare import collect_baselines, start_preparation
from sweep.searcher import objectives
from sweep.startup import connect_and_check

__all__ = ["main"]


def _knob_sampler(cfg: ExperimentConfig, start: StartCosts, warmup: dict | None) -> KnobSampler:
    """Optuna's knob sampler; relative knobs are scaled by the LUT's start costs and the
    warm-up's last training CE (an untrained net's ln(classes) without a warm-up)."""
    ce = (warmup or {}).get("train_ce") or math.log(cfg.search_space().num_classes)
    return KnobSampler(cfg.sweep, cfg.sweep.mode, dataclasses.replace(start, ce=ce), delta_fixed=cfg.loss.delta)


def _continue_command(args) -> str:
    return f"continue: python -m sweep.run --resume --storage {args.storage} --name {args.name}"


def _print_outcome(summary: dict, recommended: str, experiment: Path, args) -> None:
    print(summary["text"])
    print(recommended)
    if summary["unfinished"]:
        print(_continue_command(args))
    print(f"results: {experiment}   (tensorboard --logdir {experiment})")
    print(f"report:  python -m pareto.report {experiment} --out {experiment / 'report'}")


def _ask_tune_to_stop() -> bool:
    """Ray Tune's own orderly stop (what its SIGINT/SIGUSR1 handler does): the trial loop
    ends, the experiment state is saved, the trials' actors stop. False before Tune runs."""
    handler = signal.getsignal(signal.SIGUSR1)
    if not callable(handler):
        return False
    # its warnings name Tuner.restore(...): the stop line names the command that resumes
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    handler(signal.SIGUSR1, None)
    return True


def _fit(tuner):
    """``tuner.fit()``; SIGINT or SIGTERM stops it in order (unfinished trials resume from
    their checkpoints), then ``Interrupted``. Tune's fit would catch SIGINT itself and
    return as if done (exit 0), and SIGTERM went to Ray's handler (a C++ abort, rc 134)."""
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"  # the first signal goes to _ask_tune_to_stop
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)  # no handler left from an earlier fit
    with soft_stop(_ask_tune_to_stop):
        results = tuner.fit()
    raise_if_stopped()
    return results


@cli_main
def main(argv=None) -> None:
    args = build_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    check_name(args.name)  # one folder inside --storage, never a path out of it
    experiment = (Path(args.storage) / args.name).resolve()
    check_unlocked(experiment)  # a sweep running there: refused now, before Ray or a LUT starts
    cfg, record = resolve_config(args, experiment)
    check_static(cfg)
    # nothing is written before the start checks pass: a failed start must not leave a
    # sweep.json that makes the same command say "exists; continue it with --resume"
    check_dataset(cfg.data.dataset, cfg.data.root, cfg.data.download)
    started = time.perf_counter()
    check_address(args.address)
    lut = connect_and_check(cfg, experiment, record, args.address)
    with lock_experiment(experiment, "sweep.run") as lock:
        # again under the lock: a new sweep started beside this one exists now; a resume
        # takes the record as the last writer left it
        _, record = resolve_config(args, experiment)
        try:
            _sweep(args, cfg, experiment, record, lut, lock, started)
        except BaseException:
            # stopped: the baselines' Ray task ends with the sweep (a resume trains them again);
            # Ray's "Unhandled error" for it would come after the one line that says what to do
            os.environ["RAY_IGNORE_UNHANDLED_ERRORS"] = "1"
            raise


def _sweep(args, cfg: ExperimentConfig, experiment: Path, record: dict | None, lut, lock, started: float) -> None:
    metrics, directions = objectives(cfg.sweep.objective, lut.use_energy)
    # From here on the experiment directory is written. sweep.json keeps the config as
    # given (resume compares it); everything after it sees the prepared LUT's path.
    record = open_record(cfg, experiment, record, lut, (metrics, directions), resume=args.resume, address=args.address)
    resume_hint(_continue_command(args), experiment)  # what a stop or a full disk says to run next
    cfg = dataclasses.replace(cfg, lut=dataclasses.replace(cfg.lut, path=lut.path))
    reference = lut.lut.measurement_reference()
    baselines = start_preparation(cfg, experiment, record)
    knob_sampler = _knob_sampler(cfg, lut.start, record["warmup"])
    record["knobs"] = record.get("knobs") or knob_sampler.record()
    write_json(experiment / RECORD, record)
    prepared = time.perf_counter() - started

    from sweep.tuner import build_tuner

    tuner = build_tuner(
        cfg,
        experiment,
        knob_sampler,
        metrics,
        directions,
        warmup=record["warmup"],
        reference=reference,
        # interrupted while preparing (no Ray Tune state yet): start the trials now
        resume=args.resume and (experiment / "tuner.pkl").is_file(),
    )
    results = _fit(tuner)
    collect_baselines(cfg, experiment, record, baselines, reference)
    write_json(experiment / RECORD, record)
    trials_done = time.perf_counter() - started

    from sweep.summary import recommendation, summarize

    summary = summarize(results, metrics, directions)
    phase = measurement_phase(cfg, experiment, lock) if cfg.measure.device == "local" else None
    recommended = recommendation(experiment)  # after the measurements: judged on them
    record["runs"][-1].update(
        wall_s=time.perf_counter() - started,
        prepare_s=prepared,
        trials_s=trials_done - prepared,
        measure_s=phase and phase["seconds"],
        **{k: summary[k] for k in ("finished", "failed")},
    )
    write_json(experiment / RECORD, record)
    _print_outcome(summary, recommended, experiment, args)


if __name__ == "__main__":
    main()
