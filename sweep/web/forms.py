"""Form fields -> a checked job: the argv lists a runner will start.

Every value goes through the checks the CLIs use: a run's fields become
``section.key=value`` overrides of a config file, loaded with ``hwnas.config.load_config``
(types, ranges, one line naming the field), then the first checks ``supernet.search``
makes (the LUT fits the space, the loss fits the LUT); a sweep's fields become
``sweep.run`` flags, parsed by its parser and checked by its ``resolve_config`` and
``check_static`` (``sweep.options``). Nothing is written before everything passed.
Both forms carry the deployment target (``runtime``, ``precision``): ``deploy.runtime=…``
and ``deploy.precision=…`` overrides (a sweep's as ``--set``), checked by the config's
rules; empty: the config file's. A run's LUT must describe that target (``Lut.check_target``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hwnas.config import ExperimentConfig, load_config, save_config
from hwnas.errors import UserError
from hwnas.keys import deprecated
from hwnas.layout import ARCH, CONFIG, child_dir, report_dir, search_dir
from lut import load_lut
from supernet.loss import SearchLoss
from sweep.experiment import NAME, check_name
from sweep.options import build_parser, check_static, resolve_config
from sweep.web.luts import resolve_choice

__all__ = ["CONFIG_DIR", "NAME", "RUNS", "config_names", "run_job", "sweep_job"]

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
RUNS = "runs"  # <storage>/runs/<name>/: single runs started from the page (one of RESERVED_NAMES)
RUN_FIELDS = {
    "preset": "space.preset",
    "width": "space.width",
    "dataset": "data.dataset",
    "data_root": "data.root",  # imagefolder: the folder; npz: the file (empty: the built-in's places)
    "input_size": "space.input_size",  # empty: the preset's
    "channels": "space.channels",
    "alpha": "loss.alpha",
    "beta": "loss.beta",
    "gamma": "loss.gamma",
    "delta": "loss.delta",
    "search_epochs": "search.epochs",
    "child_epochs": "child.epochs",
}
DEPLOY_FIELDS = {"runtime": "deploy.runtime", "precision": "deploy.precision"}  # both forms
# a sweep's data fields: given ones override the config file's (the user's own image folder or .npz)
SWEEP_DATA_FIELDS = {
    "dataset": "data.dataset",
    "data_root": "data.root",
    "input_size": "space.input_size",
    "channels": "space.channels",
}


def config_names() -> list[str]:
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))


def _config_file(name: str) -> Path:
    if name not in config_names():
        raise UserError(f"config {str(name)[:80]!r}: expected one of {', '.join(config_names())}")
    return CONFIG_DIR / name


def _name(value: str | None, prefix: str) -> str:
    """The form's name (empty: one made from the time), checked as ``sweep.run --name`` is."""
    return check_name((value or "").strip() or f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}", "name")


def _field(form: dict, key: str) -> str:
    value = str(form.get(key, "")).strip()
    if "\n" in value or "\r" in value:
        where = RUN_FIELDS.get(key) or DEPLOY_FIELDS.get(key) or SWEEP_DATA_FIELDS.get(key, key)
        raise UserError(f"{where}: expected one line, got {value[:40]!r}")
    return value


def _dominant(form: dict) -> str:
    """The form's ``dominant`` term; a client of the API before the rename posts it as ``mode``."""
    if not _field(form, "dominant") and _field(form, "mode"):
        deprecated("sweep form: field mode is deprecated, read as dominant; use dominant", "form mode")
        return _field(form, "mode")
    return _field(form, "dominant") or "any"


def _deploy_overrides(form: dict) -> list[str]:
    """``deploy.runtime=…``, ``deploy.precision=…`` for the target fields given (empty: the config's)."""
    return [f"{dotted}={_field(form, key)}" for key, dotted in DEPLOY_FIELDS.items() if _field(form, key)]


def run_config(form: dict, storage: Path) -> ExperimentConfig:
    """The run's config: the chosen config file with the form's values, checked."""
    base = _config_file(_field(form, "config") or "smoke.yaml")
    overrides = [f"{dotted}={_field(form, key)}" for key, dotted in RUN_FIELDS.items()]
    # classes follow the dataset; the LUT is one the server offered; the energy term is on
    # (gamma says how much it weighs; SearchLoss refuses gamma > 0 with a LUT without energy)
    overrides += ["space.num_classes=", f"lut.path={resolve_choice(_field(form, 'lut'), storage)}", "lut.energy=true"]
    cfg = load_config(base, overrides + _deploy_overrides(form))
    lut = load_lut(cfg.lut.path)
    lut.check_space(cfg.search_space())
    lut.check_target(cfg.deploy.target())  # the search's costs are the LUT's: of the target deployed
    SearchLoss.from_config(cfg.loss, lut.cost_tensors(), use_energy=cfg.lut.energy, lut_name=lut.name)
    return cfg


def run_job(form: dict, storage: Path) -> tuple[str, Path, list[list[str]]]:
    """``(name, folder, steps)`` of a single search + childnet; writes the folder's config.yaml."""
    name = _name(_field(form, "name"), "run")
    folder = storage / RUNS / name
    if folder.exists():
        raise UserError(f"name {name!r}: a run of that name exists; pick another")
    cfg = run_config(form, storage)
    folder.mkdir(parents=True)
    config = folder / CONFIG
    save_config(cfg, config)
    py = sys.executable
    steps = [
        [py, "-m", "supernet.search", "--config", str(config), "--out", str(search_dir(folder))],
        [
            py,
            "-m",
            "childnet.train",
            "--arch",
            str(search_dir(folder) / ARCH),
            "--config",
            str(config),
            "--out",
            str(child_dir(folder)),
        ],
    ]
    return name, folder, steps


def _sweep_flags(form: dict) -> list[str]:
    flags = [
        "--trials",
        _field(form, "trials"),
        "--dominant",
        _dominant(form),
        "--config",
        str(_config_file(_field(form, "config") or "sweep-smoke.yaml")),
    ]
    for key, flag in (("max_latency_ms", "--max-latency-ms"), ("max_energy_mj", "--max-energy-mj")):
        if _field(form, key):
            flags += [flag, _field(form, key)]
    for override in _deploy_overrides(form):  # checked by the config's rules, one line naming the field
        flags += ["--set", override]
    for key, dotted in SWEEP_DATA_FIELDS.items():
        if _field(form, key):
            flags += ["--set", f"{dotted}={_field(form, key)}"]
    return flags


def sweep_job(form: dict, storage: Path, *, resume: bool = False) -> tuple[str, Path, list[list[str]]]:
    """``(name, experiment folder, steps)``: ``sweep.run`` (new, or ``--resume``, extended to the
    form's ``trials`` when given), then its report."""
    name = _name(_field(form, "name"), "sweep")
    experiment = storage / name
    if resume:
        flags = ["--resume", *(["--trials", _field(form, "trials")] if _field(form, "trials") else [])]
    else:
        flags = _sweep_flags(form)
    argv = [*flags, "--storage", str(storage), "--name", name]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:  # argparse printed its message; say which field in one line instead
        raise UserError(
            f"sweep fields: expected trials an integer and dominant one of latency, energy, any; got "
            f"trials={_field(form, 'trials')!r}, dominant={_dominant(form)!r}"
        ) from None
    cfg, _ = resolve_config(args, experiment.resolve())
    check_static(cfg)
    py = sys.executable
    steps = [
        [py, "-m", "sweep.run", *argv],
        [py, "-m", "pareto.report", str(experiment), "--out", str(report_dir(experiment))],
    ]
    return name, experiment, steps
