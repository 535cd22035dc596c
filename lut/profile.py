"""Profile a LUT on a device: every (layer, op) at its real input shape.

``python -m lut.profile --space NAME [--width W] [--classes N] --device local|ray:<resource>
--out FILE [--meter none|rapl|ina219] [--threads T] [--calibrate N]``

Timing follows ``hwnas.timing`` (fixed threads, eval + inference mode, inputs
allocated once, warm-up, many timed calls, median + IQR). By default each block is
timed in place inside whole networks of a balanced design (``lut.protocol``: blocks
timed alone ran 20-40 % faster here than inside networks); layers with the same
``shape_key`` share one entry. Rounds in a shuffled order spread other processes'
load over all entries. The fixed part (stem; head: 1x1 conv, pool, classifier) is
measured the same way. Identity ``skip`` layers are removed
by ``build_network`` and cost exactly nothing there: their entries are 0 and marked
``"measured": false``. The file format is documented in ``lut/README.md``.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time

from hwnas.device import describe, loadavg_1min
from hwnas.errors import UserError, at_least, cli_main
from hwnas.flops import count_macs
from hwnas.io import check_output_file
from hwnas.meters import IDLE_SECONDS, get_meter
from hwnas.space import PRESETS, SearchSpace, get_space
from hwnas.timing import fixed_threads, metered_energy, steady_allocator
from lut.energy_model import count_bytes_moved, get_energy_model
from lut.protocol import (
    CONTEXTS,
    PROTOCOL_VERSION,
    REWARM_CALLS,
    WARMUP_ROUNDS,
    isolated_units,
    sample_archs,
    time_in_graph,
    time_in_network,
    time_isolated,
    timing_entry,
)
from lut.table import ENERGY_FIELDS, FORMAT, FORMAT_VERSION, Lut, save_lut, space_from_definition
from lut.validate import measure_against

__all__ = ["profile_lut"]

DEFAULT_WARMUP = 10
DEFAULT_REPEATS = 90
DEFAULT_ROUNDS = 6
DEFAULT_CONTEXT = "graph"
DEFAULT_PER_OP = 3
# calibration networks are drawn with their own seed, so that lut.validate's default
# seeds (0, 1, ...) test on other networks than the ones the calibration was fit to
CALIBRATION_SEED = 1_000_003
DEFAULT_ENERGY_MODEL = "horowitz45nm"


def fit_scale(raw_predicted_ms, measured_ms) -> float:
    """Least-squares ``scale`` of ``measured ~ scale * raw_predicted`` (through the
    origin: one parameter, so a few networks determine it and ranks are kept)."""
    num = sum(p * m for p, m in zip(raw_predicted_ms, measured_ms, strict=True))
    den = sum(p * p for p in raw_predicted_ms)
    return num / den


def _calibrate(data: dict, space: SearchSpace, n: int, *, threads, warmup, repeats, rounds, seed, progress) -> dict:
    """Measure ``n`` whole networks and fit the LUT's calibration block to them."""
    archs = sample_archs(space, n, seed)
    # measured at the LUT's reference speed, like its entries
    r = measure_against(
        Lut(data, name="uncalibrated"),
        archs,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        seed=seed,
        progress=progress,
    )
    predicted, measured = r["predicted_ms"], r["measured_ms"]
    return {
        "latency_scale": fit_scale(predicted, measured),
        "latency_offset_ms": 0.0,
        "fit": "least squares, measured = scale * raw estimate",
        "archs": archs,
        "seed": seed,
        "raw_predicted_ms": predicted,
        "measured_ms": measured,
    }


def _profile_data(
    space_def: dict,
    *,
    meter: str,
    threads: int,
    warmup: int,
    repeats: int,
    rounds: int,
    context: str,
    per_op: int,
    batch_size: int,
    energy_model: str | None,
    progress: bool,
    seed: int,
    calibrate: int = 0,
) -> dict:
    """Profile on this machine and return the LUT as plain data (runs in a Ray task
    on the target device for ``ray:<resource>``)."""
    space = space_from_definition(space_def)
    meter_obj = get_meter(meter)
    # the session starts with the device's static draw, before anything runs (dynamic = total - idle x time)
    idle_w = meter_obj.measure_idle() if meter_obj.source != "none" else None
    units = isolated_units(space, batch_size)
    load_before = loadavg_1min()
    started = time.perf_counter()
    design = None
    if context in ("graph", "network"):
        timer = time_in_graph if context == "graph" else time_in_network
        timings, design, reference = timer(
            space,
            threads=threads,
            warmup=warmup,
            repeats=repeats,
            rounds=rounds,
            per_op=per_op,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
        )
    else:
        timings, reference = time_isolated(
            units,
            space,
            threads=threads,
            warmup=warmup,
            repeats=repeats,
            rounds=rounds,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
        )
    seconds = time.perf_counter() - started

    # counting runs single-threaded: it needs no speed, and a 2-thread op on a busy
    # machine waits for its second thread (80-150 ms per block instead of ~5 ms here)
    with fixed_threads(1):
        macs = {key: count_macs(module, x) for key, module, x in units}
        moved = {key: count_bytes_moved(module, x) for key, module, x in units}
    # energy: a real meter measures each block alone; otherwise a labeled model, or null
    # (a meter reads both kinds; a model of arithmetic and data movement has no static part: dynamic only)
    if meter_obj.source != "none":
        energy_source, kinds = meter_obj.source, ["total", "dynamic"]
        energy = {key: metered_energy(module, x, meter_obj, threads) for key, module, x in units}
        energy_note = {
            "meter": meter_obj.source,
            "context": "isolated",
            "min_seconds": 0.2,
            "idle_w": idle_w,
            "idle_seconds": IDLE_SECONDS,
            "dynamic": "total - idle_w x time",
        }
    elif energy_model:
        model = get_energy_model(energy_model)
        energy_source, kinds = model.source, ["dynamic"]
        energy = {key: {"energy_dynamic_mj": model.energy_from_counts(macs[key], moved[key])} for key, _, _ in units}
        energy_note = model.describe()
    else:
        energy_source, kinds, energy, energy_note = "none", [], {}, None

    def energies(key) -> dict:
        return {ENERGY_FIELDS[k]: energy[key][ENERGY_FIELDS[k]] if k in kinds else None for k in ENERGY_FIELDS}

    def entry(key):
        return {**timing_entry(timings[key]), **energies(key), "macs": macs[key], "measured": True}

    zero = {
        "latency_ms": 0.0,
        "latency_iqr_ms": 0.0,
        **{ENERGY_FIELDS[k]: 0.0 if k in kinds else None for k in ENERGY_FIELDS},
        "macs": 0,
        "measured": False,
        "note": "identity: build_network removes it",
    }
    layers = []
    for layer in space.layers:
        ops = {op: entry((layer.shape_key, op)) if (layer.shape_key, op) in macs else dict(zero) for op in space.ops}
        layers.append(
            {
                "index": layer.index,
                "in_channels": layer.in_channels,
                "out_channels": layer.out_channels,
                "stride": layer.stride,
                "in_hw": layer.in_hw,
                "shape_key": list(layer.shape_key),
                "ops": ops,
            }
        )
    parts = {"stem": entry("stem"), "head": entry("head")}
    fixed = {
        "latency_ms": sum(p["latency_ms"] for p in parts.values()),
        "latency_iqr_ms": sum(p["latency_iqr_ms"] for p in parts.values()),
        **{f: None if k not in kinds else parts["stem"][f] + parts["head"][f] for k, f in ENERGY_FIELDS.items()},
        "parts": parts,
    }
    protocol = {
        "version": PROTOCOL_VERSION,
        "context": context,
        "warmup": warmup,
        "repeats": repeats,
        "rounds": rounds,
        "statistic": "median",
        "spread": "iqr",
        "threads": threads,
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
            or statistics.median(t.iqr_ms / t.median_ms for t in timings.values() if t.median_ms > 0),
            4,
        ),
        "loadavg_1min": [load_before, loadavg_1min()],
        **steady_allocator(),
        # entries are in ms at this network's median speed over the session
        "reference": reference.record(),
    }
    if design is not None:
        protocol["design"] = design
    if energy_note is not None:
        protocol["energy"] = energy_note
    data = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "space": {**space.record(), "definition": space.definition()},
        "input_shape": list(space.input_shape),
        "batch_size": batch_size,
        "device": describe(threads),
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
    if calibrate:
        data["calibration"] = _calibrate(
            data,
            space,
            calibrate,
            threads=threads,
            warmup=warmup,
            repeats=repeats,
            rounds=rounds,
            seed=CALIBRATION_SEED + seed,
            progress=progress,
        )
    return data


def _parse_device(device: str) -> str | None:
    """``None`` for local, else the Ray resource name."""
    if device == "local":
        return None
    if device.startswith("ray:") and len(device) > 4:
        return device[4:]
    raise UserError(f"unknown device {device!r}; expected 'local' or 'ray:<resource>'")


def _profile_on_node(**kwargs) -> dict:
    """``_profile_data`` in a Ray task; the LUT's device record names the node it ran on."""
    from hwnas.ray_connect import node_record

    data = _profile_data(**kwargs)
    data["device"].update(node_record())
    return data


def _run_on_ray(resource: str, address: str | None, threads: int, kwargs: dict) -> dict:
    import ray

    from hwnas.ray_connect import check_resource, connect, device_task_options

    connect(address)
    check_resource(resource, ray.cluster_resources(), f"device ray:{resource}")
    task = ray.remote(_profile_on_node).options(**device_task_options(resource, threads))
    try:
        return ray.get(task.remote(**kwargs))
    except ray.exceptions.RayTaskError:
        raise  # the profiling failed on the device: its own error
    except ray.exceptions.RayError as err:  # the node or the worker process running the task died
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise UserError(
            f"device ray:{resource}: the device left the cluster while profiling ({err.__class__.__name__}: {first})"
        ) from None


def profile_lut(
    space: SearchSpace,
    *,
    device: str = "local",
    meter: str = "none",
    threads: int = 1,
    warmup: int = DEFAULT_WARMUP,
    repeats: int = DEFAULT_REPEATS,
    rounds: int = DEFAULT_ROUNDS,
    context: str = DEFAULT_CONTEXT,
    per_op: int = DEFAULT_PER_OP,
    batch_size: int = 1,
    energy_model: str | None = DEFAULT_ENERGY_MODEL,
    progress: bool = True,
    address: str | None = None,
    seed: int = 0,
    calibrate: int = 0,
) -> Lut:
    """Profile ``space`` on ``device`` (``local`` or ``ray:<resource>``) into a ``Lut``.

    Energy: measured with ``meter`` when it is a real one; otherwise, if
    ``energy_model`` is given, modeled and labeled ``model:<name>``; else null.
    ``calibrate=N`` (off by default) measures N whole networks after profiling and
    records a one-parameter fit in the LUT's ``calibration`` block, which estimates
    then apply (see ``lut/README.md``).
    """
    resource = _parse_device(device)
    if context not in CONTEXTS:
        raise UserError(f"unknown profiling context {context!r}; expected one of {', '.join(CONTEXTS)}")
    if calibrate < 0 or calibrate == 1:
        raise UserError(f"--calibrate must be 0 (off) or >= 2 networks, got {calibrate}")
    if threads < 1 or warmup < 0 or repeats < 1 or rounds < 1 or batch_size < 1 or per_op < 1:
        raise UserError("profile: threads, repeats, rounds, batch size must be >= 1 and warmup >= 0")
    kwargs = dict(
        space_def=space.definition(),
        meter=meter,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        rounds=rounds,
        context=context,
        per_op=per_op,
        batch_size=batch_size,
        energy_model=energy_model,
        seed=seed,
        calibrate=calibrate,
    )
    if resource is None:
        data = _profile_data(progress=progress, **kwargs)
    else:
        data = _run_on_ray(resource, address, threads, dict(kwargs, progress=False))
        data["device"]["ray_resource"] = resource
    return Lut(data, name=f"profiled:{space.name}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lut.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--space", required=True, help=f"preset: {', '.join(PRESETS)}")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--classes", type=int, default=None, help="number of classes (default: the preset's)")
    p.add_argument("--device", default="local", help="local | ray:<resource>")
    p.add_argument(
        "--address",
        default=None,
        help="Ray for ray:<resource>: auto (on a cluster's head), host:port or ray://host:port "
        "(default: $RAY_ADDRESS, else a local Ray)",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--meter", default="none", help="none | rapl | ina219")
    p.add_argument(
        "--energy-model",
        default=DEFAULT_ENERGY_MODEL,
        help="analytical energy model used when there is no meter ('' for none)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    p.add_argument(
        "--context",
        default=DEFAULT_CONTEXT,
        choices=CONTEXTS,
        help="network: time each block in place inside whole networks (default); isolated: alone",
    )
    p.add_argument(
        "--per-op",
        type=int,
        default=DEFAULT_PER_OP,
        help="network context: networks per (layer, op) in the balanced design",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument(
        "--calibrate",
        type=int,
        default=0,
        metavar="N",
        help="measure N whole networks and record a latency calibration in the LUT (default: off)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


@cli_main
def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    space = get_space(args.space, args.width, args.classes)
    out = check_output_file(args.out)  # before profiling: it takes minutes on a Pi
    for name, value, low in (
        ("--threads", args.threads, 1),
        ("--warmup", args.warmup, 0),
        ("--repeats", args.repeats, 1),
        ("--rounds", args.rounds, 1),
        ("--per-op", args.per_op, 1),
        ("--batch-size", args.batch_size, 1),
        ("--calibrate", args.calibrate, 0),
    ):
        at_least(name, value, low)
    started = time.perf_counter()
    lut = profile_lut(
        space,
        device=args.device,
        meter=args.meter,
        threads=args.threads,
        warmup=args.warmup,
        repeats=args.repeats,
        rounds=args.rounds,
        context=args.context,
        per_op=args.per_op,
        batch_size=args.batch_size,
        energy_model=args.energy_model or None,
        progress=not args.no_progress,
        address=args.address,
        seed=args.seed,
        calibrate=args.calibrate,
    )
    save_lut(lut, out)
    print(
        f"wrote {out}: {lut.num_layers} layers x {len(lut.op_names)} ops, fixed {lut.tensors.latency_fixed_ms:.3f} ms, "
        f"energy {lut.energy_source}, device {lut.device['name']}"
    )
    print(f"profile_seconds={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
