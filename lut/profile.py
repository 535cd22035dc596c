"""Profile a LUT on a device: every (layer, op) at its real input shape.

``python -m lut.profile --space NAME [--width W] [--classes N] --device local|<resource>
--out FILE [--meter none|rapl|ina219|pmic|fnirsi|um [--meter-replay FILE]] [--threads T] [--calibrate N]``

Timing follows ``hwnas.timing`` (defaults ``LUT_TIMING``; fixed threads, eval + inference mode, inputs
allocated once, warm-up, many timed calls, median + IQR). By default each block is
timed in place inside whole networks of a balanced design (``lut.protocol``: blocks
timed alone ran 20-40 % faster here than inside networks); layers with the same
``shape_key`` share one entry. Rounds in a shuffled order spread other processes'
load over all entries. The fixed part (stem; head: 1x1 conv, pool, classifier) is
measured the same way (one session: ``lut.session``; on a Ray device: ``lut.remote``;
``--calibrate``: ``lut.calibrate``). Identity ``skip`` layers are removed
by ``build_network`` and cost exactly nothing there: their entries are 0 and marked
``"measured": false``. The file format is documented in ``lut/README.md``.
"""

from __future__ import annotations

import argparse
import time

from hwnas.device_name import LOCAL, device_resource
from hwnas.errors import UserError, at_least, cli_main
from hwnas.io import check_output_file
from hwnas.meters.cli import add_meter_flags, meter_kwargs
from hwnas.space import PRESETS, SearchSpace, get_space
from hwnas.target import DeployTarget, add_target_flags, require_runtime
from hwnas.timing import LUT_TIMING, TimingProtocol, timing_kwargs
from lut.protocol import CONTEXTS
from lut.remote import profile_on_ray
from lut.session import profile_data
from lut.table import Lut, save_lut

__all__ = ["fit_per_op_for", "profile_lut"]

DEFAULT_CONTEXT = "graph"
DEFAULT_PER_OP = 3
DEFAULT_ENERGY_MODEL = "horowitz45nm"
# whole lowered networks per (layer, op) in a runtime target's fit: the per-block prior in
# the same runtime carries the rest. ExecuTorch lowering costs 6 s per network (11 s int8)
# and 2 per op held out as well as 4 (lut/README); ONNX Runtime's 0.1 s buys the 4 it needs.
FIT_PER_OP = {"executorch": 2}
DEFAULT_FIT_PER_OP = 4
DEFAULT_TARGET = DeployTarget()


def fit_per_op_for(target: DeployTarget, given: int | None = None) -> int:
    """``given``, else the runtime's default number of fit networks per (layer, op)."""
    return given if given is not None else FIT_PER_OP.get(target.runtime, DEFAULT_FIT_PER_OP)


def _check_settings(context: str, calibrate: int, counts: tuple, target: DeployTarget) -> None:
    """The profiling settings, each refused in one line: a known context, calibration off or
    >= 2 networks, ``counts`` (threads, warmup, repeats, rounds, batch size, per-op, fit per-op)
    positive (warmup >= 0), and a lowered program profiled in the graph context at batch size 1."""
    threads, warmup, repeats, rounds, batch_size, per_op, fit_per_op = counts
    if context not in CONTEXTS:
        raise UserError(f"unknown profiling context {context!r}; expected one of {', '.join(CONTEXTS)}")
    if calibrate < 0 or calibrate == 1:
        raise UserError(f"--calibrate must be 0 (off) or >= 2 networks, got {calibrate}")
    if threads < 1 or warmup < 0 or repeats < 1 or rounds < 1 or batch_size < 1 or per_op < 1 or fit_per_op < 1:
        raise UserError("profile: threads, repeats, rounds, batch size, per-op must be >= 1 and warmup >= 0")
    if target.lowered and (batch_size != 1 or context != "graph"):
        raise UserError(
            f"profile: {target.runtime} programs are profiled in the graph context at batch size 1, got context "
            f"{context}, batch size {batch_size}"
        )


def profile_lut(
    space: SearchSpace,
    *,
    device: str = LOCAL,
    meter: str = "none",
    threads: int = LUT_TIMING.threads,
    warmup: int = LUT_TIMING.warmup,
    repeats: int = LUT_TIMING.repeats,
    rounds: int = LUT_TIMING.rounds,
    context: str = DEFAULT_CONTEXT,
    per_op: int = DEFAULT_PER_OP,
    batch_size: int = 1,
    energy_model: str | None = DEFAULT_ENERGY_MODEL,
    progress: bool = True,
    address: str | None = None,
    seed: int = 0,
    calibrate: int = 0,
    target: DeployTarget = DEFAULT_TARGET,
    fit_per_op: int | None = None,
    meter_replay: str | None = None,
    meter_replay_speed: float = 1.0,
) -> Lut:
    """Profile ``space`` on ``device`` (``local``: this host, else the Ray resource of a
    device's node, ``hwnas.device_name``) into a ``Lut``.

    Energy: measured with ``meter`` when it is a real one (``meter_replay``: a recording
    of its device played ``meter_replay_speed`` times faster, the LUT's energy_source
    then ``replay:<meter>``); otherwise, if ``energy_model`` is given, modeled and labeled ``model:<name>``; else null.
    ``calibrate=N`` (off by default) measures N whole networks after profiling and
    records a one-parameter fit in the LUT's ``calibration`` block, which estimates
    then apply (see ``lut/README.md``). ``target``: the runtime and precision the entries
    describe (default ExecuTorch fp32); ``fit_per_op``: whole lowered networks per op and
    layer that the entries are fitted to (``lut.graph_fit.time_in_target``; default
    ``fit_per_op_for(target)``).
    """
    fit_per_op = fit_per_op_for(target, fit_per_op)
    resource = device_resource(device)
    _check_settings(context, calibrate, (threads, warmup, repeats, rounds, batch_size, per_op, fit_per_op), target)
    if target.lowered and resource is None:
        require_runtime(target.runtime)  # one line before minutes of work
    kwargs = dict(
        space_def=space.definition(),
        meter=meter,
        timing=TimingProtocol(threads, warmup, repeats, rounds),
        context=context,
        per_op=per_op,
        batch_size=batch_size,
        energy_model=energy_model,
        seed=seed,
        calibrate=calibrate,
        deploy=target.record(),
        fit_per_op=fit_per_op,
        meter_replay=meter_replay,
        meter_replay_speed=meter_replay_speed,
    )
    if resource is None:
        data = profile_data(progress=progress, **kwargs)
    else:
        data = profile_on_ray(resource, address, threads, dict(kwargs, progress=False))
    return Lut(data, name=f"profiled:{space.name}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lut.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--space", required=True, help=f"preset: {', '.join(PRESETS)}")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--classes", type=int, default=None, help="number of classes (default: the preset's)")
    p.add_argument("--input-size", type=int, default=None, help="input height = width (default: the preset's)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None, help="input channels (default: the preset's)")
    p.add_argument(
        "--device",
        default=LOCAL,
        help="local (this host) or the Ray resource a device's node offers, e.g. rpi4 (ray start "
        "--resources='{\"rpi4\": 1}'); a resource named local cannot be meant. ray:<resource> is "
        "the old spelling (deprecated)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray for a device's resource: auto (on a cluster's head), host:port or ray://host:port "
        "(default: $RAY_ADDRESS, else the Ray `ray start` runs here, else a local Ray)",
    )
    p.add_argument("--out", required=True)
    add_meter_flags(p)
    p.add_argument(
        "--energy-model",
        default=DEFAULT_ENERGY_MODEL,
        help="analytical energy model used when there is no meter ('' for none)",
    )
    p.add_argument("--threads", type=int, default=LUT_TIMING.threads)
    p.add_argument("--warmup", type=int, default=LUT_TIMING.warmup)
    p.add_argument("--repeats", type=int, default=LUT_TIMING.repeats)
    p.add_argument("--rounds", type=int, default=LUT_TIMING.rounds)
    p.add_argument(
        "--context",
        default=DEFAULT_CONTEXT,
        choices=CONTEXTS,
        help="network: time each block in place inside whole networks (default); isolated: alone",
    )
    p.add_argument("--per-op", type=int, default=DEFAULT_PER_OP, help="network context: networks per (layer, op)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument(
        "--calibrate",
        type=int,
        default=0,
        metavar="N",
        help="measure N whole networks and record a latency calibration in the LUT (default: off)",
    )
    p.add_argument(
        "--fit-per-op",
        type=int,
        default=None,
        help=f"executorch/onnxruntime: whole lowered networks per (layer, op) the entries are fitted to "
        f"(default: {FIT_PER_OP['executorch']} for executorch, {DEFAULT_FIT_PER_OP} otherwise)",
    )
    add_target_flags(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


@cli_main
def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    space = get_space(args.space, args.width, args.classes, args.input_size, args.channels)
    out = check_output_file(args.out)  # before profiling: it takes minutes on a Pi
    for name, value, low in (
        ("--threads", args.threads, 1),
        ("--warmup", args.warmup, 0),
        ("--repeats", args.repeats, 1),
        ("--rounds", args.rounds, 1),
        ("--per-op", args.per_op, 1),
        ("--batch-size", args.batch_size, 1),
        ("--calibrate", args.calibrate, 0),
        ("--fit-per-op", args.fit_per_op, 1),
    ):
        at_least(name, value, low)
    started = time.perf_counter()
    lut = profile_lut(
        space,
        device=args.device,
        **meter_kwargs(args),
        **timing_kwargs(args),
        context=args.context,
        per_op=args.per_op,
        batch_size=args.batch_size,
        energy_model=args.energy_model or None,
        progress=not args.no_progress,
        address=args.address,
        seed=args.seed,
        calibrate=args.calibrate,
        target=DeployTarget(args.runtime, args.precision),
        fit_per_op=args.fit_per_op,
    )
    save_lut(lut, out)
    print(
        f"wrote {out}: {lut.num_layers} layers x {len(lut.op_names)} ops, fixed {lut.tensors.latency_fixed_ms:.3f} ms, "
        f"energy {lut.energy_source}, device {lut.device['name']}, target {lut.target}"
    )
    print(f"profile_seconds={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
