"""Measure exported models on this machine, in their deployment runtime, with the LUT's
own timing protocol.

What is timed is the file the user deploys, loaded by its runtime (``hwnas.timing.runtime``)
and timed by ``hwnas.timing.time_models``: ``model.pte`` in ExecuTorch, ``model.onnx`` in
ONNX Runtime (``--runtime``/``--precision``,
default ExecuTorch fp32; no Python code from the file runs). For eager PyTorch and the
deprecated TorchScript the model is rebuilt from its data file (``model.weights.pt``,
``childnet.export.load_model_data``: op names, space and weights, loaded
``weights_only``), and traced for TorchScript; a TorchScript, ``torch.export`` or pickle
file is refused with one line.

Protocol (the one ``lut.profile`` times LUT entries with, ``hwnas.timing``): fixed
threads, steady allocator, whole-process warm-up, then ``rounds`` shuffled passes over
all models of a group, each visit re-warmed, every visit divided by the speed
reference's level around it; statistic median, spread IQR. Given the LUT's reference
(``reference``: its space, arch, seed and ``latency_ms``), the same reference network
is timed, so ``speed_factor`` says how much slower the device runs now than while the
LUT was profiled and ``latency_ms_at_lut_speed`` is the measurement at the LUT's speed.

Defaults: ``hwnas.timing.MODEL_TIMING``, ``MAX_REL_IQR``, ``TRIES`` (also the config's
``measure`` section). Noise: every model's relative IQR is recorded; models above
``max_rel_iqr`` are timed again (``tries`` in all) and the quietest try is kept; one still above it is marked
``"noisy": true``. Energy only with a real meter (``energy_source``), never made up:
the session first measures the device's idle power (``idle_w``), then each model's
``energy_mj`` (total, as read) and ``energy_dynamic_mj`` (total - ``idle_w`` x time).

Runs on any machine with torch and the ``hwnas`` package (a Raspberry Pi): it imports
only torch, ``hwnas.timing``/``meters``/``device``/``space``/``network``/``domains`` and
``childnet.export`` (torchvision only to rebuild a baseline).

CLI: ``python -m childnet.measure --model model.pte [--model FILE ...] [--runtime R --precision P]
[--lut FILE] [--meter none|rapl|ina219|pmic|fnirsi|um [--meter-replay FILE]]
[--threads N]`` prints one "measured" JSON (metrics.json)
per model; with ``--lut`` the LUT's speed reference is timed and a LUT of another target is refused.
"""

from __future__ import annotations

import argparse
import json

import torch

from childnet.export import load_model_data
from hwnas.device import describe, loadavg_1min
from hwnas.domains import TIMING_RULES, check_values
from hwnas.errors import UserError, cli_main
from hwnas.layout import WEIGHTS
from hwnas.meters import get_meter
from hwnas.meters.cli import add_meter_flags, meter_kwargs
from hwnas.network import trace
from hwnas.space import get_space
from hwnas.target import DeployTarget, add_target_flags, require_runtime
from hwnas.timing import (
    MAX_REL_IQR,
    MODEL_TIMING,
    REFERENCE_SEED,
    TRIES,
    SpeedReference,
    TimingProtocol,
    fixed_threads,
    load_program,
    metered_energy,
    quietest,
    read_program,
    steady_allocator,
    time_models,
    timing_kwargs,
)

__all__ = ["DEFAULT_REFERENCE", "main", "measure_file", "measure_files"]

# models interleaved in one session; a group is the unit a caller can record. Small:
# here a group of 8 spread to a median rel IQR of 0.045, groups of 4 to 0.017
GROUP = 4
# the reference when neither the caller nor the model's metadata names a space
DEFAULT_REFERENCE = {"space": {"name": "fbnet-cpu", "width": 1.0, "num_classes": 10}, "seed": REFERENCE_SEED}


def _reference(spec: dict, batch_size: int, target: DeployTarget) -> SpeedReference:
    sp = spec["space"]
    space = get_space(sp["name"], sp.get("width", 1.0), sp.get("num_classes"))
    return SpeedReference(
        space, spec.get("arch"), batch_size=batch_size, seed=spec.get("seed", REFERENCE_SEED), target=target
    )


def _load(path, target: DeployTarget, threads: int, batch_size: int, gen) -> tuple:
    """``(callable, input, meta or None)``: the deployed file loaded by its runtime, or
    (eager PyTorch, TorchScript) the network rebuilt from its data file."""
    if target.lowered:
        runner = load_program(read_program(path, target), target, threads, source=str(path))
        shape = runner.input_shape
        if not all(isinstance(v, int) and v > 0 for v in shape) or len(shape) != 4 or shape[0] != 1:
            raise UserError(f"{path}: expected one input of shape [1, C, H, W], got {str(shape)[:60]}")
        return runner, torch.randn(*shape, generator=gen), None
    module, meta = load_model_data(path)
    x = torch.randn(batch_size, *meta["input_shape"], generator=gen)
    return (trace(module, x) if target.runtime == "torchscript" else module), x, meta


def _time_group(modules, inputs, spec: dict, timing: TimingProtocol, batch_size: int, target) -> tuple[list, dict]:
    with fixed_threads(timing.threads):
        reference = _reference(spec, batch_size, target)
    load = loadavg_1min()
    timings = time_models(modules, inputs, reference, timing)
    session = {
        "reference_ms": reference.latency_ms,
        "reference_rel_iqr": reference.rel_iqr,
        "loadavg_1min": [load, loadavg_1min()],
    }
    return timings, session


def _check_settings(settings: dict, target: DeployTarget) -> None:
    """The config's rules for measure.* (a CLI's flags arrive here unchecked), a lowered
    program's batch size of 1, and the target's runtime installed."""
    check_values(settings, TIMING_RULES, "measure")
    if target.lowered and settings["batch_size"] != 1:
        raise UserError(f"measure: {target.runtime} programs take batch size 1, got {settings['batch_size']}")
    require_runtime(target.runtime)


def _session_meter(name: str, replay: str | None, speed: float):
    """The meter (an unknown or absent one fails now), its idle draw measured before anything
    runs (the energies are dynamic: above the session's static draw)."""
    meter = get_meter(name, replay, speed)
    if meter.source != "none":
        meter.measure_idle()
    return meter


def _reference_of(loaded: list) -> dict:
    """The reference in the first model's space its metadata names, else ``DEFAULT_REFERENCE``."""
    return next(
        (
            dict(DEFAULT_REFERENCE, space=m["space"])
            for _, _, m in loaded
            if isinstance(m, dict) and isinstance(m.get("space"), dict) and "name" in m["space"]
        ),
        DEFAULT_REFERENCE,
    )


def measure_files(
    paths,
    *,
    reference: dict | None = None,
    threads: int = MODEL_TIMING.threads,
    warmup: int = MODEL_TIMING.warmup,
    repeats: int = MODEL_TIMING.repeats,
    rounds: int = MODEL_TIMING.rounds,
    meter: str = "none",
    batch_size: int = 1,
    max_rel_iqr: float = MAX_REL_IQR,
    tries: int = TRIES,
    on_group=None,
    target: DeployTarget | None = None,
    meter_replay: str | None = None,
    meter_replay_speed: float = 1.0,
) -> list[dict]:
    """The "measured" dict of each exported model in ``paths`` (see module docstring),
    deployed in ``target`` (default ExecuTorch fp32), timed in groups of ``GROUP``;
    ``on_group(results)`` is called with the finished ``{index: measured}`` after each
    group so a caller can record progress. ``meter_replay``: the meter replays this
    recording of its device (``hwnas.meters.replay``; ``energy_source`` ``replay:<meter>``)."""
    target = target or DeployTarget()
    given = dict(threads=threads, warmup=warmup, repeats=repeats, rounds=rounds, batch_size=batch_size, tries=tries)
    _check_settings(dict(given, max_rel_iqr=max_rel_iqr), target)
    meter = _session_meter(meter, meter_replay, meter_replay_speed)
    gen = torch.Generator().manual_seed(0)
    with fixed_threads(threads):  # every file checked before anything is timed
        loaded = [_load(p, target, threads, batch_size, gen) for p in paths]
    modules, inputs = [m for m, _, _ in loaded], [x for _, x, _ in loaded]
    spec = reference or _reference_of(loaded)
    proto = TimingProtocol(threads, warmup, repeats, rounds)

    def time_group(todo: list) -> tuple[list, dict]:
        return _time_group([modules[i] for i in todo], [inputs[i] for i in todo], spec, proto, batch_size, target)

    deployed = {"deploy": target.record()}
    records: list[dict] = []
    for start in range(0, len(modules), GROUP):
        group = range(start, min(start + GROUP, len(modules)))
        best = quietest(time_group, list(group), max_rel_iqr, tries)
        done = {
            i: {**_record(*best[i], spec, proto, batch_size, meter, modules[i], inputs[i], max_rel_iqr), **deployed}
            for i in group
        }
        records.extend(done.values())
        if on_group is not None:
            on_group(done)
    return records


def _record(timing, session, attempt, spec, proto: TimingProtocol, batch_size, meter, module, x, max_rel_iqr) -> dict:
    lut_ms = spec.get("latency_ms")
    factor = session["reference_ms"] / lut_ms if lut_ms else None
    real = meter.source != "none"
    energy = metered_energy(module, x, meter, proto.threads) if real else {}
    rel = timing.rel_iqr
    device = describe(proto.threads)
    return {
        "latency_ms": timing.median_ms,
        "latency_iqr_ms": timing.iqr_ms,
        "rel_iqr": rel,
        "noisy": rel > max_rel_iqr,
        "tries": attempt,
        "speed_factor": factor,
        "latency_ms_at_lut_speed": timing.median_ms / factor if factor else None,
        "energy_mj": energy.get("energy_mj"),
        "energy_dynamic_mj": energy.get("energy_dynamic_mj"),
        "idle_w": meter.idle_w if real else None,
        "energy_source": meter.source if real else "none",
        "device": device["name"],
        "node": device["hostname"],
        "threads": proto.threads,
        "batch_size": batch_size,
        "repeats": timing.repeats,
        "rounds": proto.rounds,
        "warmup": proto.warmup,
        "allocator": steady_allocator()["allocator"],
        # the record's wording as older measurements have it (the module moved, not the protocol)
        "protocol": "hwnas.speed: shuffled rounds against the speed reference, median + IQR",
        **session,
    }


def measure_file(path, **kwargs) -> dict:
    """``measure_files([path], **kwargs)[0]``."""
    return measure_files([path], **kwargs)[0]


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m childnet.measure", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        required=True,
        action="append",
        help="the deployed file written by childnet.train: model.pte (executorch), model.onnx (onnxruntime), "
        f"{WEIGHTS} (pytorch, torchscript) (repeatable)",
    )
    add_target_flags(p)
    p.add_argument("--lut", default=None, help="time against this LUT's speed reference (it must describe the target)")
    add_meter_flags(p)
    p.add_argument("--threads", type=int, default=MODEL_TIMING.threads)
    p.add_argument("--warmup", type=int, default=MODEL_TIMING.warmup)
    p.add_argument(
        "--repeats", type=int, default=MODEL_TIMING.repeats, help="samples per model (a sample lasts >= 10 ms)"
    )
    p.add_argument("--rounds", type=int, default=MODEL_TIMING.rounds)
    p.add_argument("--batch-size", type=int, default=1)
    a = p.parse_args(argv)
    target = DeployTarget(a.runtime, a.precision)
    reference = None
    if a.lut:
        from lut.table import load_lut  # only with --lut: a device needs no lut package otherwise

        lut = load_lut(a.lut)
        lut.check_target(target)
        reference = lut.measurement_reference()
    for measured in measure_files(
        a.model, **timing_kwargs(a), **meter_kwargs(a), batch_size=a.batch_size, target=target, reference=reference
    ):
        print(json.dumps(measured))


if __name__ == "__main__":
    main()
