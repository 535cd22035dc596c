"""What a sweep settles before its experiment folder is written: the LUT its trials use
(given, the experiment's own copy, or profiled here or on the device), Ray joined, and
the checks that need them: the device and the trials fit the cluster, the budget can be
met and the sweep's ``sweep.dominant`` fits the LUT.

``connect_and_check`` returns a ``SweepLut``: the LUT with everything the sweep derives
from it once (the path trials name it by, its sweep.json entry, whether the loss uses
energy, the start costs that scale the knobs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ray

from hwnas.config import ExperimentConfig, config_to_dict
from hwnas.device_name import is_local
from hwnas.errors import UserError
from hwnas.layout import RECORD, SWEEP_LUT
from hwnas.ray_connect import connect, this_node
from lut import Lut, experiment_lut, load_lut
from lut import profile as lut_profile  # its profile_lut looked up at call time: tests guard it
from sweep.budget import check_budget_reachable
from sweep.device import check_device
from sweep.experiment import absolute_paths
from sweep.knobs import StartCosts, check_dominant_fits_lut, start_costs
from sweep.tuner import check_trials_fit

__all__ = ["SweepLut", "connect_and_check", "prepare_lut"]


@dataclass(frozen=True)
class SweepLut:
    """The sweep's LUT and what the sweep derives from it."""

    lut: Lut
    path: str  # the name trials (in their own working directories) and their files use
    entry: dict  # sweep.json's lut entry: the recorded one on resume
    use_energy: bool  # the config asks for the energy term and the LUT has energy
    start: StartCosts  # expected costs at the search start (CE not yet known)


def prepare_lut(cfg: ExperimentConfig, experiment: Path):
    """The LUT the trials use and its sweep.json entry. ``auto``: this host's (profiled
    once, cached) or, for a device resource, profiled on the device's node; either way
    a copy is kept in the experiment (and reused on resume)."""
    space = cfg.search_space()
    stored = experiment / SWEEP_LUT
    if cfg.lut.path != "auto":
        lut = experiment_lut(cfg, space)
        # the name trials (in their own working directories) and their files will use
        path = absolute_paths(config_to_dict(cfg), Path.cwd())["lut"]["path"]
        return lut, path, {"spec": cfg.lut.path, "path": path, "source": "given"}
    if stored.is_file():
        lut = load_lut(str(stored), cfg.lut.energy_kind)
        lut.check_space(space)
        lut.check_target(cfg.deploy.target())
        source = "experiment"
    elif is_local(cfg.measure.device):
        lut = experiment_lut(cfg, space, "auto", progress=True, threads=cfg.measure.threads)
        source = "profiled on this host" + (" (cached)" if "not cached" not in lut.name else " (noisy, not cached)")
    else:
        lut = lut_profile.profile_lut(
            space,
            device=cfg.measure.device,
            threads=cfg.measure.threads,
            meter=cfg.measure.meter,
            meter_replay=cfg.measure.meter_replay,
            meter_replay_speed=cfg.measure.meter_replay_speed,
            progress=False,
            target=cfg.deploy.target(),
        )
        lut = type(lut)(lut.data, lut.name, cfg.lut.energy_kind)  # the energy kind the config asks for
        # free text (older experiments say "profiled on ray:<resource>")
        source = f"profiled on device {cfg.measure.device}"
    return lut, str(stored), {"spec": "auto", "path": str(stored), "source": source}


def _lut_of(cfg: ExperimentConfig, experiment: Path, record: dict | None):
    """``(lut, lut_path, lut_entry)``: prepared for a new sweep, the recorded one on resume."""
    if record is None:
        return prepare_lut(cfg, experiment)
    entry = record.get("lut")
    if entry is None:
        raise UserError(f"{experiment / RECORD}: field lut: missing (the sweep's LUT); cannot resume")
    if entry.get("spec") == "auto":  # kept in the experiment: there, wherever it was moved
        entry = dict(entry, path=str(experiment / SWEEP_LUT))
    lut = load_lut(entry["path"], cfg.lut.energy_kind)
    lut.check_target(cfg.deploy.target())
    return lut, entry["path"], entry


def connect_and_check(cfg: ExperimentConfig, experiment: Path, record: dict | None, address: str | None) -> SweepLut:
    """The sweep's LUT, checked against the budget and ``sweep.dominant``, and Ray
    connected with the device and the trials checked to fit.

    This host's LUT is profiled before Ray starts: Ray's start-up keeps both cores busy
    for seconds, and a LUT profiled then was 2-3x off. Any LUT but one profiled on a
    device of its own is known then, and so is whether the budget can be met: refused
    before Ray starts."""
    on_device = not is_local(cfg.measure.device) and record is None and cfg.lut.path == "auto"
    prepared_lut = None if on_device else _lut_of(cfg, experiment, record)
    if prepared_lut:
        check_budget_reachable(cfg.sweep.budget, prepared_lut[0].cost_tensors(), prepared_lut[0].name)
    connect(address)
    check_device(cfg.measure.device, ray.cluster_resources())
    check_trials_fit(cfg, *this_node())  # trials stay on this node
    lut, lut_path, lut_entry = prepared_lut or _lut_of(cfg, experiment, record)
    if prepared_lut is None:  # profiled on the device: known only now
        check_budget_reachable(cfg.sweep.budget, lut.cost_tensors(), lut.name)
    use_energy = cfg.lut.energy and lut.has_energy
    start = start_costs(lut.cost_tensors(), use_energy)
    check_dominant_fits_lut(cfg.sweep.dominant, start)
    return SweepLut(lut, lut_path, lut_entry, use_energy, start)
