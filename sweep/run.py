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
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shlex
import signal
import time
from pathlib import Path

from hwnas.config import ExperimentConfig
from hwnas.data import check_data
from hwnas.device_name import is_local
from hwnas.errors import cli_main, raise_if_stopped, resume_hint, soft_stop
from hwnas.keys import metric_aliases
from hwnas.layout import RECORD, REPORT, STUDY, TUNER
from hwnas.ray_connect import check_address, disconnect
from sweep.budget import budget_dict
from sweep.experiment import check_name, check_unlocked, continue_command, lock_experiment, write_json
from sweep.final import final_stage
from sweep.knobs import KnobSampler, StartCosts
from sweep.measurements import measurement_phase
from sweep.options import build_parser, check_static, resolve_config
from sweep.prepare import collect_baselines, start_preparation
from sweep.record import open_record
from sweep.resume_check import Repairs, check_resume
from sweep.searcher import objectives, sweep_at
from sweep.startup import connect_and_check
from sweep.study import rebuild_study
from sweep.summary import recommendation, summarize
from sweep.tuner import build_tuner

__all__ = ["main"]


def _knob_sampler(cfg: ExperimentConfig, start: StartCosts, warmup: dict | None) -> KnobSampler:
    """Optuna's knob sampler; relative knobs are scaled by the LUT's start costs and the
    warm-up's last training CE (an untrained net's ln(classes) without a warm-up)."""
    ce = (warmup or {}).get("train_ce") or math.log(cfg.search_space().num_classes)
    return KnobSampler(cfg.sweep, cfg.sweep.dominant, dataclasses.replace(start, ce0=ce), delta_fixed=cfg.loss.delta)


def _print_outcome(summary: dict, experiment: Path, args) -> None:
    """The commands to go on with, shell-quoted (paths may hold spaces)."""
    q = shlex.quote
    if summary["unfinished"]:
        print(continue_command(args.storage, args.name))
    print(f"results: {experiment}   (tensorboard --logdir {q(str(experiment))})")
    print(f"report:  python -m pareto.report {q(str(experiment))} --out {q(str(experiment / REPORT))}")


def _repair(cfg: ExperimentConfig, experiment: Path, record: dict, repairs: Repairs, lut) -> None:
    """Rebuild what the resume was asked to (``--rebuild-study``) before anything else is written."""
    if repairs.study:
        sampler = _knob_sampler(cfg, lut.start, record.get("warmup"))  # only its proposals' shape matters
        n, kept = rebuild_study(experiment, record, sampler, budget_dict(cfg.sweep.budget))
        kept_note = f"; the damaged one kept as {kept.name}" if kept else ""
        print(f"rebuilt the Optuna study {experiment / STUDY} from {n} trials{kept_note}")


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
    # every file a resume reads, before anything is written (or Ray unpickles a damaged one)
    repairs = Repairs()
    if record is not None:
        repairs = check_resume(
            experiment,
            record,
            rebuild_study=args.rebuild_study,
            rebuild_tuner=args.rebuild_tuner,
            remeasure=args.remeasure,
        )
    # nothing is written before the start checks pass: a failed start must not leave a
    # sweep.json that makes the same command say "exists; continue it with --resume"
    data = check_data(cfg.data, cfg.search_space())  # the user's own images: every one decoded once
    started = time.perf_counter()
    check_address(args.address)
    lut = connect_and_check(cfg, experiment, record, args.address)
    with lock_experiment(experiment, "sweep.run") as lock:
        # again under the lock: a new sweep started beside this one exists now; a resume
        # takes the record as the last writer left it
        _, record = resolve_config(args, experiment)
        try:
            _sweep(args, cfg, experiment, record, lut, lock, started, repairs, data)
        except BaseException:
            # stopped: the baselines' Ray task ends with the sweep (a resume trains them again);
            # Ray's "Unhandled error" for it would come after the one line that says what to do
            os.environ["RAY_IGNORE_UNHANDLED_ERRORS"] = "1"
            # Ray's processes end here, before that line; left to Ray's exit hook they
            # outlived sweep.run (its agents) and the exit code became 1
            disconnect()
            raise


def _sweep(args, cfg, experiment: Path, record: dict | None, lut, lock, started: float, repairs, data) -> None:
    metrics, directions = objectives(cfg.sweep.objective, lut.use_energy)
    if record is not None:
        _repair(cfg, experiment, record, repairs, lut)
        # the names Ray Tune's searcher and the Optuna study of this experiment know: an
        # experiment from before the rename keeps its old ones (hwnas.keys.metric_aliases)
        metrics, directions = record.get("metrics") or metrics, record.get("directions") or directions
    # From here on the experiment directory is written. sweep.json keeps the config as
    # given (resume compares it); everything after it sees the prepared LUT's path.
    record = open_record(cfg, experiment, record, lut, (metrics, directions), resume=args.resume, address=args.address)
    resume_hint(continue_command(args.storage, args.name), experiment)  # what a stop or a full disk says to run next
    cfg = dataclasses.replace(cfg, lut=dataclasses.replace(cfg.lut, path=lut.path))
    reference = lut.lut.measurement_reference()
    baselines = start_preparation(cfg, experiment, record)
    knob_sampler = _knob_sampler(cfg, lut.start, record["warmup"])
    record["knobs"] = record.get("knobs") or knob_sampler.record()
    record["data"] = record.get("data") or data  # classes (names, count) and input shape
    write_json(experiment / RECORD, record)
    prepared = time.perf_counter() - started
    # what Ray and Optuna restore names the folder the sweep started in, maybe moved since
    with sweep_at(experiment, record.get("optuna")):
        tuner = build_tuner(
            cfg,
            experiment,
            knob_sampler,
            metrics,
            directions,
            warmup=record["warmup"],
            study=record.get("optuna"),
            reference=reference,
            metric_aliases=metric_aliases(metrics, str(experiment / RECORD)),
            # interrupted while preparing (no Ray Tune state yet): start the trials now
            resume=args.resume and ((experiment / TUNER).is_file() or repairs.tuner),
            rebuild_tuner=repairs.tuner,
        )
        results = _fit(tuner)
    collect_baselines(cfg, experiment, record, baselines, reference)
    write_json(experiment / RECORD, record)
    trials_done = time.perf_counter() - started
    summary = summarize(results, metrics, directions)
    local = is_local(cfg.measure.device)
    phase = measurement_phase(cfg, experiment, args.remeasure, lock) if local else None
    print(summary["text"])
    print(recommendation(experiment))  # after the measurements: judged on them
    # the take-home model once the search is complete (an unfinished one may recommend another)
    final = final_stage(cfg, experiment, lock) if not summary["unfinished"] else None
    record["runs"][-1].update(
        wall_s=time.perf_counter() - started,
        prepare_s=prepared,
        trials_s=trials_done - prepared,
        measure_s=phase and phase["seconds"],
        final_s=final and final["seconds"],
        **{k: summary[k] for k in ("finished", "failed", "unfinished")},
    )
    write_json(experiment / RECORD, record)
    _print_outcome(summary, experiment, args)


if __name__ == "__main__":
    main()
