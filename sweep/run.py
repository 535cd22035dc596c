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

import argparse
import dataclasses
import math
import time
from pathlib import Path

from hwnas.config import ExperimentConfig, apply_overrides, check_config, config_from_dict, config_to_dict, load_config
from hwnas.errors import UserError, cli_main
from hwnas.ray_connect import check_address, connect, this_node
from sweep.budget import check_budget_reachable
from sweep.experiment import RECORD, absolute_paths, config_diff, read_record, write_json
from sweep.knobs import KnobSampler, check_mode_fits_lut, check_ranges, start_costs
from sweep.measurements import measurement_phase
from sweep.prepare import collect_baselines, start_preparation
from sweep.searcher import objectives, study_storage

__all__ = ["DEFAULT_CONFIG", "build_parser", "main"]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
SCHEDULERS = ("none", "asha")
# dnas: every trial searches (supernet + knobs from Optuna); random: every trial trains an
# architecture drawn uniformly from the space, the baseline a search has to beat.
STRATEGIES = ("dnas", "random")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sweep.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, help="number of trials (default: the config's sweep.trials)")
    p.add_argument("--mode", choices=("latency", "energy", "any"), help="which cost term dominates the knobs")
    p.add_argument(
        "--objective",
        choices=("multi", "accuracy", "latency", "energy"),
        help="what Optuna optimizes (multi: accuracy, LUT latency, LUT energy)",
    )
    p.add_argument("--scheduler", choices=SCHEDULERS, help="asha: stop hopeless searches early")
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="dnas: search per trial (default); random: uniformly drawn architectures, same childnet recipe",
    )
    p.add_argument("--concurrency", type=int, help="trials running at once")
    # strings: hwnas.config checks them (positive, finite; null: no limit) like any override
    p.add_argument(
        "--max-latency-ms",
        metavar="MS",
        help="budget: the recommended model's latency limit (sweep.budget.max_latency_ms)",
    )
    p.add_argument(
        "--max-energy-mj",
        metavar="MJ",
        help="budget: the recommended model's energy limit (sweep.budget.max_energy_mj; needs LUT energy)",
    )
    p.add_argument(
        "--config", help="experiment config YAML (default: configs/default.yaml; with --resume: the experiment's own)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override one config value (repeatable)"
    )
    p.add_argument("--name", default="default", help="experiment name (default: default)")
    p.add_argument("--storage", default="experiments", help="directory holding experiments (default: ./experiments)")
    p.add_argument(
        "--address",
        help="Ray cluster: auto (on the head), host:port (the head, default port 6379) or "
        "ray://host:port (default: $RAY_ADDRESS, else start a local Ray)",
    )
    p.add_argument("--resume", action="store_true", help="continue the experiment <storage>/<name>")
    return p


def _overrides(args) -> list[str]:
    out = list(args.set)
    for flag, key in (
        ("trials", "sweep.trials"),
        ("mode", "sweep.mode"),
        ("objective", "sweep.objective"),
        ("scheduler", "sweep.scheduler"),
        ("concurrency", "sweep.concurrency"),
        ("strategy", "sweep.strategy"),
        ("max_latency_ms", "sweep.budget.max_latency_ms"),
        ("max_energy_mj", "sweep.budget.max_energy_mj"),
    ):
        value = getattr(args, flag)
        if value is not None:
            out.append(f"{key}={value}")
    return out


def resolve_config(args, experiment: Path) -> tuple[ExperimentConfig, dict | None]:
    """The sweep's config; on ``--resume`` the recorded one, which must not change."""
    if not args.resume:
        if (experiment / RECORD).exists() or (experiment / "tuner.pkl").exists():
            raise UserError(f"experiment {experiment} exists; continue it with --resume or pick another --name")
        return load_config(args.config or DEFAULT_CONFIG, _overrides(args)), None
    record, recorded = read_record(experiment)
    if args.config:
        cfg = load_config(args.config, _overrides(args))
    else:
        cfg = _apply(config_to_dict(recorded), _overrides(args))
    diff = config_diff(recorded, cfg)
    if diff:
        raise UserError(f"--resume: config differs from the experiment's ({RECORD}): " + "; ".join(diff))
    if cfg.sweep.trials < record.get("trials", 0):
        raise UserError(
            f"--resume: --trials {cfg.sweep.trials} is fewer than the {record['trials']} the experiment already has"
        )
    return cfg, record


def _apply(data: dict, overrides: list[str]) -> ExperimentConfig:
    """``data`` (a recorded config) with ``section.key=value`` overrides, validated."""
    return config_from_dict(apply_overrides(data, overrides), source="resumed config")


def check_static(cfg: ExperimentConfig) -> None:
    """Everything about the config that can be known before Ray starts and before a
    file is written: every section's types and ranges (``hwnas.config.check_config``,
    which loading already ran; again here for a config object code changed), and the
    knob ranges. Energy availability is checked once the LUT is known."""
    check_config(cfg)
    check_ranges(cfg.sweep, cfg.sweep.mode)


def prepare_lut(cfg: ExperimentConfig, experiment: Path):
    """The LUT the trials use and its sweep.json entry. ``auto``: this host's (profiled
    once, cached) or, for a device resource, profiled on the device's node; either way
    a copy is kept in the experiment (and reused on resume)."""
    from lut import ensure_lut, load_lut, profile_lut

    space = cfg.search_space()
    stored = experiment / "lut.json"
    if cfg.lut.path != "auto":
        lut = ensure_lut(cfg.lut.path, space, energy_kind=cfg.lut.energy_kind)
        # the name trials (in their own working directories) and their files will use
        path = absolute_paths(config_to_dict(cfg), Path.cwd())["lut"]["path"]
        return lut, path, {"spec": cfg.lut.path, "path": path, "source": "given"}
    if stored.is_file():
        lut = load_lut(str(stored), cfg.lut.energy_kind)
        lut.check_space(space)
        source = "experiment"
    elif cfg.measure.device == "local":
        lut = ensure_lut("auto", space, progress=True, threads=cfg.measure.threads, energy_kind=cfg.lut.energy_kind)
        source = "profiled on this host" + (" (cached)" if "not cached" not in lut.name else " (noisy, not cached)")
    else:
        lut = profile_lut(
            space,
            device=f"ray:{cfg.measure.device}",
            threads=cfg.measure.threads,
            meter=cfg.measure.meter,
            progress=False,
        )
        lut = type(lut)(lut.data, lut.name, cfg.lut.energy_kind)  # the energy kind the config asks for
        source = f"profiled on ray:{cfg.measure.device}"
    return lut, str(stored), {"spec": "auto", "path": str(stored), "source": source}


def _lut_entry(lut, entry: dict) -> dict:
    return dict(
        entry,
        name=lut.name,
        device=lut.device.get("name"),
        energy_source=lut.energy_source,
        has_energy=lut.has_energy,
        energy_kind=lut.energy_kind,
    )


def _new_record(
    cfg: ExperimentConfig, experiment: Path, metrics, directions, lut, lut_path: str, lut_entry: dict
) -> dict:
    """sweep.json of a new experiment (docs/formats.md); ``knobs`` once the warm-up is done."""
    return {
        "config": config_to_dict(cfg),
        "trials": cfg.sweep.trials,
        "strategy": cfg.sweep.strategy,
        "mode": cfg.sweep.mode,
        "objective": cfg.sweep.objective,
        "metrics": metrics,
        "directions": directions,
        # luts: the name trials' arch.json/metrics.json give the search LUT; lut: its details
        "luts": [lut_path],
        "lut": _lut_entry(lut, lut_entry),
        "device": cfg.measure.device,
        "knobs": None,
        "warmup": None,
        "baselines": None,
        "runs": [],
        # where Optuna keeps the study (optuna-dashboard, optuna.load_study); random: no study
        "optuna": study_storage(experiment) if cfg.sweep.strategy == "dnas" else None,
    }


def _knob_sampler(cfg: ExperimentConfig, lut, use_energy: bool, warmup: dict | None) -> KnobSampler:
    """Optuna's knob sampler; relative knobs are scaled by the LUT's start costs and the
    warm-up's last training CE (an untrained net's ln(classes) without a warm-up)."""
    ce = (warmup or {}).get("train_ce") or math.log(cfg.search_space().num_classes)
    start = dataclasses.replace(start_costs(lut.cost_tensors(), use_energy), ce=ce)
    return KnobSampler(cfg.sweep, cfg.sweep.mode, start, delta_fixed=cfg.loss.delta)


def _knob_record(knob_sampler: KnobSampler) -> dict:
    start = knob_sampler.start
    how = (
        "sampled: cost_share = (vLAT + vENER) / CE0, its split, beta, delta; derived: alpha, gamma"
        if knob_sampler.sweep.knobs == "relative"
        else f"sampled: the minor/major term ratio 'dominance' in sweep.dominance; derived: {knob_sampler.derived}"
        if knob_sampler.derived
        else "all four knobs sampled in their ranges"
    )
    return {
        "scale": knob_sampler.sweep.knobs,
        "derived": knob_sampler.derived,
        "parametrization": how,
        "start": {"latency_ms": start.latency_ms, "energy_mj": start.energy_mj, "ce": start.ce},
    }


def _lut_of(cfg: ExperimentConfig, experiment: Path, record: dict | None):
    """``(lut, lut_path, lut_entry)``: prepared for a new sweep, the recorded one on resume."""
    if record is None:
        return prepare_lut(cfg, experiment)
    from lut import load_lut

    entry = record.get("lut")
    if entry is None:
        raise UserError(f"{experiment / RECORD}: field lut: missing (the sweep's LUT); cannot resume")
    return load_lut(entry["path"], cfg.lut.energy_kind), entry["path"], entry


def _connect_and_check(cfg: ExperimentConfig, experiment: Path, record: dict | None, address: str | None):
    """``(lut, lut_path, lut_entry)`` with the LUT checked against the budget and the
    sweep's mode, and Ray connected with the device and the trials checked to fit.

    This host's LUT is profiled before Ray starts: Ray's start-up keeps both cores busy
    for seconds, and a LUT profiled then was 2-3x off. Any LUT but one profiled on a
    device of its own is known then, and so is whether the budget can be met: refused
    before Ray starts."""
    on_device = cfg.measure.device != "local" and record is None and cfg.lut.path == "auto"
    prepared_lut = None if on_device else _lut_of(cfg, experiment, record)
    if prepared_lut:
        check_budget_reachable(cfg.sweep.budget, prepared_lut[0].cost_tensors(), prepared_lut[0].name)
    connect(address)
    import ray

    from sweep.device import check_device
    from sweep.tuner import check_trials_fit

    check_device(cfg.measure.device, ray.cluster_resources())
    check_trials_fit(cfg, *this_node())  # trials stay on this node
    lut, lut_path, lut_entry = prepared_lut or _lut_of(cfg, experiment, record)
    if prepared_lut is None:  # profiled on the device: known only now
        check_budget_reachable(cfg.sweep.budget, lut.cost_tensors(), lut.name)
    use_energy = cfg.lut.energy and lut.has_energy
    check_mode_fits_lut(cfg.sweep.mode, start_costs(lut.cost_tensors(), use_energy))
    return lut, lut_path, lut_entry


def _open_record(
    cfg: ExperimentConfig,
    experiment: Path,
    record: dict | None,
    args,
    lut,
    lut_path: str,
    lut_entry: dict,
    metrics,
    directions,
) -> dict:
    """sweep.json with this run appended (a new experiment: created, its LUT stored)."""
    experiment.mkdir(parents=True, exist_ok=True)
    if record is None:
        if lut_entry["spec"] == "auto":
            from lut import save_lut

            save_lut(lut, lut_path)
        record = _new_record(cfg, experiment, metrics, directions, lut, lut_path, lut_entry)
    record["trials"] = cfg.sweep.trials
    record.setdefault("runs", []).append(
        {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "resume": args.resume,
            "trials": cfg.sweep.trials,
            "address": args.address,
        }
    )
    write_json(experiment / RECORD, record)
    return record


def _print_outcome(summary: dict, recommended: str, experiment: Path, args) -> None:
    print(summary["text"])
    print(recommended)
    if summary["unfinished"]:
        print(f"continue: python -m sweep.run --resume --storage {args.storage} --name {args.name}")
    print(f"results: {experiment}   (tensorboard --logdir {experiment})")
    print(f"report:  python -m pareto.report {experiment} --out {experiment / 'report'}")


@cli_main
def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    experiment = (Path(args.storage) / args.name).resolve()
    cfg, record = resolve_config(args, experiment)
    check_static(cfg)
    started = time.perf_counter()
    check_address(args.address)
    lut, lut_path, lut_entry = _connect_and_check(cfg, experiment, record, args.address)
    use_energy = cfg.lut.energy and lut.has_energy
    metrics, directions = objectives(cfg.sweep.objective, use_energy)

    # From here on the experiment directory is written. sweep.json keeps the config as
    # given (resume compares it); everything after it sees the prepared LUT's path.
    record = _open_record(cfg, experiment, record, args, lut, lut_path, lut_entry, metrics, directions)
    cfg = dataclasses.replace(cfg, lut=dataclasses.replace(cfg.lut, path=lut_path))
    reference = lut.measurement_reference()
    baselines = start_preparation(cfg, experiment, record)
    knob_sampler = _knob_sampler(cfg, lut, use_energy, record["warmup"])
    record["knobs"] = record.get("knobs") or _knob_record(knob_sampler)
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
    results = tuner.fit()
    collect_baselines(cfg, experiment, record, baselines, reference)
    write_json(experiment / RECORD, record)
    trials_done = time.perf_counter() - started

    from sweep.summary import recommendation, summarize

    summary = summarize(results, metrics, directions)
    phase = measurement_phase(cfg, experiment) if cfg.measure.device == "local" else None
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
