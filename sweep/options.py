"""A sweep's command line: its flags (``build_parser``), the config they resolve to for a
new sweep or on ``--resume`` (``resolve_config``: the recorded one, which must not change),
and the checks that need neither Ray nor a file written (``check_static``).

Every flag but ``--config``, ``--name``, ``--storage``, ``--address``, ``--resume`` and the
repairs a resume may be asked for (``--rebuild-study``, ``--rebuild-tuner``, ``--remeasure``:
``sweep.resume_check``) is an override of a ``sweep.*`` config value, checked by
``hwnas.config`` like any other.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hwnas.config import ExperimentConfig, apply_overrides, check_config, config_from_dict, config_to_dict, load_config
from hwnas.domains import DOMINANT, OBJECTIVES, SCHEDULERS, STRATEGIES
from hwnas.errors import UserError
from hwnas.keys import deprecated
from hwnas.layout import MEASUREMENTS, RECORD, STUDY, TUNER
from hwnas.target import add_target_flags
from sweep.experiment import config_diff, read_record

__all__ = [
    "DEFAULT_CONFIG",
    "build_parser",
    "check_static",
    "flag_overrides",
    "resolve_config",
]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
# flag -> the config value it overrides
_FLAG_KEYS = (
    ("trials", "sweep.trials"),
    ("dominant", "sweep.dominant"),
    ("objective", "sweep.objective"),
    ("scheduler", "sweep.scheduler"),
    ("concurrency", "sweep.concurrency"),
    ("strategy", "sweep.strategy"),
    ("max_latency_ms", "sweep.budget.max_latency_ms"),
    ("max_energy_mj", "sweep.budget.max_energy_mj"),
    ("runtime", "deploy.runtime"),
    ("precision", "deploy.precision"),
)


def _search_flags(p: argparse.ArgumentParser) -> None:
    """How the trials search: how many, their knobs, the optimizer, the scheduler, the strategy."""
    p.add_argument("--trials", type=int, help="number of trials (default: the config's sweep.trials)")
    p.add_argument("--dominant", choices=DOMINANT, help="which cost term dominates every trial's knobs")
    p.add_argument("--mode", choices=DOMINANT, help=argparse.SUPPRESS)  # the old name of --dominant
    p.add_argument(
        "--objective",
        choices=OBJECTIVES,
        help="what Optuna optimizes (multi: accuracy, LUT latency, LUT energy)",
    )
    p.add_argument("--scheduler", choices=SCHEDULERS, help="asha: stop hopeless searches early")
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="dnas: search per trial (default); random: uniformly drawn architectures, same childnet recipe",
    )
    p.add_argument("--concurrency", type=int, help="trials running at once")


def _budget_flags(p: argparse.ArgumentParser) -> None:
    """The limits the recommended model must keep (``sweep.budget``)."""
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


def _experiment_flags(p: argparse.ArgumentParser) -> None:
    """Which config, which experiment folder, which Ray cluster."""
    p.add_argument(
        "--config", help="experiment config YAML (default: configs/default.yaml; with --resume: the experiment's own)"
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override one config value (repeatable)"
    )
    p.add_argument(
        "--name",
        default="default",
        help="experiment name: a folder in --storage of letters, digits, '.', '_', '-' (default: default)",
    )
    p.add_argument("--storage", default="experiments", help="directory holding experiments (default: ./experiments)")
    p.add_argument(
        "--address",
        help="Ray cluster: auto (on the head), host:port (the head, default port 6379) or "
        "ray://host:port (default: $RAY_ADDRESS, else the Ray `ray start` runs here, else start a local Ray)",
    )


def _resume_flags(p: argparse.ArgumentParser) -> None:
    """``--resume`` and the repairs a resume may be asked for."""
    p.add_argument("--resume", action="store_true", help="continue the experiment <storage>/<name>")
    # repairs: each rebuilds one damaged or lost file from the others, only when asked (sweep.resume_check)
    p.add_argument(
        "--rebuild-study",
        action="store_true",
        help=f"with --resume: rebuild a lost or damaged {STUDY} from the trials' knobs and results",
    )
    p.add_argument(
        "--rebuild-tuner",
        action="store_true",
        help=f"with --resume: write a lost or damaged {TUNER} again from the recorded config",
    )
    p.add_argument(
        "--remeasure",
        action="store_true",
        help=f"with --resume: time again the models whose {MEASUREMENTS} entries cannot be read",
    )


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The flags of ``python -m sweep.run`` (``description``: its ``--help`` text), in
    ``--help``'s order: search, budget, deployment target, experiment, resume."""
    p = argparse.ArgumentParser(prog="python -m sweep.run", description=description)
    _search_flags(p)
    _budget_flags(p)
    add_target_flags(p, default=None)  # None: the config's deploy section
    _experiment_flags(p)
    _resume_flags(p)
    return p


_REPAIRS = ("rebuild_study", "rebuild_tuner", "remeasure")


def _old_flags(args) -> None:
    """``--mode`` (the old name of ``--dominant``) read as ``--dominant``, with one
    deprecation line; both at once is a one-line error."""
    if getattr(args, "mode", None) is None:
        return
    if args.dominant is not None:
        raise UserError("both --mode and --dominant given; --mode is the old name of --dominant, keep --dominant")
    deprecated("--mode is deprecated, read as --dominant; use --dominant", "--mode")
    args.dominant, args.mode = args.mode, None


def flag_overrides(args) -> list[str]:
    """``--set`` values, then the flags given, as ``section.key=value`` overrides."""
    _old_flags(args)
    out = list(args.set)
    for flag, key in _FLAG_KEYS:
        value = getattr(args, flag)
        if value is not None:
            out.append(f"{key}={value}")
    return out


def resolve_config(args, experiment: Path) -> tuple[ExperimentConfig, dict | None]:
    """The sweep's config; on ``--resume`` the recorded one, which must not change."""
    repairs = [f"--{name.replace('_', '-')}" for name in _REPAIRS if getattr(args, name, False)]
    if repairs and not args.resume:
        raise UserError(f"{repairs[0]}: repairs an experiment on --resume only")
    if not args.resume:
        if (experiment / RECORD).exists() or (experiment / TUNER).exists():
            raise UserError(f"experiment {experiment} exists; continue it with --resume or pick another --name")
        return load_config(args.config or DEFAULT_CONFIG, flag_overrides(args)), None
    record, recorded = read_record(experiment)
    if args.config:
        cfg = load_config(args.config, flag_overrides(args))
    else:
        cfg = _apply(config_to_dict(recorded), flag_overrides(args))
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
    file is written: every section's types and ranges, the knob ranges among them
    (``hwnas.config.check_config``, which loading already ran; again here for a config
    object code changed). Energy availability is checked once the LUT is known."""
    check_config(cfg)
