"""One profiling session on this machine: time every entry (``lut.protocol``,
``lut.graph_fit``), count its MACs, meter or model its energy, and assemble the LUT
file's data (``lut/README.md``). Runs in a Ray task on the device for
``lut.profile --device <resource>`` (``lut.remote``).
"""

from __future__ import annotations

import socket
import statistics
import time

from hwnas.device import describe, loadavg_1min
from hwnas.flops import count_macs
from hwnas.meters import IDLE_SECONDS, get_meter
from hwnas.space import space_from_definition
from hwnas.target import DeployTarget
from hwnas.timing import TimingProtocol, fixed_threads, metered_energy, steady_allocator
from hwnas.timing.speed import REWARM_CALLS, WARMUP_ROUNDS
from lut.calibrate import calibrate as fit_calibration
from lut.energy_model import count_bytes_moved, get_energy_model
from lut.format import ENERGY_FIELDS, header, layer_record
from lut.graph_fit import time_in_graph, time_in_target
from lut.protocol import PROTOCOL_VERSION, isolated_units, time_in_network, time_isolated, timing_entry

__all__ = ["profile_data"]


def _time_entries(
    space,
    units,
    context: str,
    timing: TimingProtocol,
    target: DeployTarget,
    *,
    per_op,
    fit_per_op,
    batch_size,
    seed,
    progress,
) -> tuple:
    """``({key: Timing}, design or None, reference)``: every entry timed in ``context``
    (``graph``: fitted to whole networks deployed in ``target``)."""
    if context == "graph" and target.lowered:
        return time_in_target(space, timing, target, fit_per_op=fit_per_op, seed=seed, progress=progress)
    if context == "isolated":
        timings, reference = time_isolated(units, space, timing, batch_size=batch_size, seed=seed, progress=progress)
        return timings, None, reference
    design = dict(per_op=per_op, batch_size=batch_size, seed=seed, progress=progress)
    result = time_in_network(space, timing, **design)
    if context == "graph" and target.runtime == "torchscript":  # in-place timings: the prior of the fit
        result = time_in_graph(space, result[0], timing, **design)
    return result


def _energy(units, meter, idle_w, energy_model: str | None, macs: dict, moved: dict, threads: int) -> tuple:
    """``(energy_source, kinds, {key: energy fields}, note or None)``. A real meter
    measures each block alone and reads both kinds; a model of arithmetic and data
    movement (``macs``, bytes ``moved`` per key) has no static part: dynamic only;
    with neither, no energy."""
    if meter.source != "none":
        energy = {key: metered_energy(module, x, meter, threads) for key, module, x in units}
        note = {
            "meter": meter.source,
            "context": "isolated",
            "min_seconds": meter.min_seconds,
            "idle_w": idle_w,
            "idle_seconds": max(IDLE_SECONDS, meter.min_seconds),
            "dynamic": "total - idle_w x time",
            **meter.describe(),
        }
        return meter.source, ["total", "dynamic"], energy, note
    if energy_model:
        model = get_energy_model(energy_model)
        energy = {key: {"energy_dynamic_mj": model.energy_from_counts(macs[key], moved[key])} for key, _, _ in units}
        return model.source, ["dynamic"], energy, model.describe()
    return "none", [], {}, None


def _table(space, timings: dict, macs: dict, energy: dict, kinds: list) -> tuple[list, dict]:
    """The file's ``layers`` and ``fixed`` fields from the entries' numbers."""

    def entry(key):
        en = {f: energy[key][f] if k in kinds else None for k, f in ENERGY_FIELDS.items()}
        return {**timing_entry(timings[key]), **en, "macs": macs[key], "measured": True}

    zero = {  # an identity skip: build_network removes it, so it costs exactly nothing
        "latency_ms": 0.0,
        "latency_iqr_ms": 0.0,
        **{f: 0.0 if k in kinds else None for k, f in ENERGY_FIELDS.items()},
        "macs": 0,
        "measured": False,
        "note": "identity: build_network removes it",
    }
    layers = []
    for layer in space.layers:
        ops = {op: entry((layer.shape_key, op)) if (layer.shape_key, op) in macs else dict(zero) for op in space.ops}
        layers.append(layer_record(layer, ops))
    parts = {"stem": entry("stem"), "head": entry("head")}
    fixed = {
        "latency_ms": sum(p["latency_ms"] for p in parts.values()),
        "latency_iqr_ms": sum(p["latency_iqr_ms"] for p in parts.values()),
        **{f: None if k not in kinds else parts["stem"][f] + parts["head"][f] for k, f in ENERGY_FIELDS.items()},
        "parts": parts,
    }
    return layers, fixed


def _protocol(context, timing: TimingProtocol, batch_size, seconds, timings, design, reference, loads) -> dict:
    """The file's ``protocol`` block: how the entries were timed, and how quiet the machine was."""
    return {
        "version": PROTOCOL_VERSION,
        "context": context,
        "warmup": timing.warmup,
        "repeats": timing.repeats,
        "rounds": timing.rounds,
        "statistic": "median",
        "spread": "iqr",
        "threads": timing.threads,
        "order": "shuffled rounds",
        "warmup_rounds": WARMUP_ROUNDS,
        "rewarm_calls": REWARM_CALLS,
        "inference_mode": True,
        "batch_size": batch_size,
        "profiling_seconds": round(seconds, 3),
        # how quiet the machine was: other processes make timings noisy (graph
        # context: the whole networks the entries are fitted to)
        "median_rel_iqr": round(
            (design or {}).get("median_rel_iqr_networks")
            or statistics.median(t.rel_iqr for t in timings.values() if t.median_ms > 0),
            4,
        ),
        "loadavg_1min": loads,
        **steady_allocator(),
        # entries are in ms at this network's median speed over the session
        "reference": reference.record(),
    }


def _counts(units) -> tuple[dict, dict]:
    """Each unit's MACs and bytes moved, counted single-threaded: counting needs no speed,
    and a 2-thread op on a busy machine waits for its second thread (80-150 ms per block
    instead of ~5 ms here)."""
    with fixed_threads(1):
        macs = {key: count_macs(module, x) for key, module, x in units}
        moved = {key: count_bytes_moved(module, x) for key, module, x in units}
    return macs, moved


def _lut_file(space, batch_size: int, threads: int, target, protocol: dict, energy: tuple, fixed, layers) -> dict:
    """The LUT as plain data (``lut/README.md``), uncalibrated; ``energy``: its source and kinds."""
    energy_source, kinds = energy
    return {
        **header(space, batch_size),
        "device": describe(threads),
        "deploy": target.record(),
        "protocol": protocol,
        "units": {"latency": "ms", "energy": "mJ"},
        "energy_source": energy_source,
        "energy_kinds": kinds,
        "ops": list(space.ops),
        "fixed": fixed,
        "layers": layers,
        "calibration": None,
        "provenance": f"hwnas lut.profile on {socket.gethostname()}",
    }


def profile_data(
    space_def: dict,
    *,
    meter: str,
    timing: TimingProtocol,
    context: str,
    per_op: int,
    batch_size: int,
    energy_model: str | None,
    progress: bool,
    seed: int,
    calibrate: int = 0,
    deploy: dict | None = None,
    fit_per_op: int = 4,
    meter_replay: str | None = None,
    meter_replay_speed: float = 1.0,
) -> dict:
    """Profile on this machine and return the LUT as plain data. ``deploy``: the target's
    record (``hwnas.target.DeployTarget.record``; default ExecuTorch fp32); ``meter_replay``:
    a recording the meter replays (``hwnas.meters.replay``) instead of its device."""
    space = space_from_definition(space_def)
    target = DeployTarget.from_record(deploy) if deploy is not None else DeployTarget()
    meter_obj = get_meter(meter, meter_replay, meter_replay_speed)
    # the session starts with the device's static draw, before anything runs (dynamic = total - idle x time)
    idle_w = meter_obj.measure_idle() if meter_obj.source != "none" else None
    units = isolated_units(space, batch_size)
    load_before = loadavg_1min()
    started = time.perf_counter()
    timings, design, reference = _time_entries(
        space,
        units,
        context,
        timing,
        target,
        per_op=per_op,
        fit_per_op=fit_per_op,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
    seconds = time.perf_counter() - started
    macs, moved = _counts(units)
    energy_source, kinds, energy, energy_note = _energy(
        units, meter_obj, idle_w, energy_model, macs, moved, timing.threads
    )
    layers, fixed = _table(space, timings, macs, energy, kinds)
    loads = [load_before, loadavg_1min()]
    protocol = _protocol(context, timing, batch_size, seconds, timings, design, reference, loads)
    if design is not None:
        protocol["design"] = design
    if energy_note is not None:
        protocol["energy"] = energy_note
    data = _lut_file(space, batch_size, timing.threads, target, protocol, (energy_source, kinds), fixed, layers)
    if calibrate:
        data["calibration"] = fit_calibration(data, space, calibrate, timing, seed=seed, progress=progress)
    return data
