"""Estimate architectures from a LUT; ``lut_estimates``: from every LUT that matches a
space (a childnet's ``metrics.json`` ``lut_estimates``).

``python -m lut.estimate --lut FILE|builtin:NAME (--arch OPS | --archs-file FILE)
[--metric latency|energy]``

``--arch`` takes comma-separated op names (one per layer); ``--archs-file`` a JSON
list of op-name lists, and then the last line printed is a JSON list of the totals in
input order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwnas.errors import UserError, cli_main
from hwnas.space import SearchSpace
from hwnas.target import DeployTarget
from lut.cache import ensure_lut
from lut.cost import CostTensors, TableCost
from lut.format import ENERGY_KINDS
from lut.table import Lut, builtin_names, load_lut

__all__ = ["estimate", "lut_estimates", "read_archs_file"]


def estimate(lut: Lut, ops, metric: str = "latency") -> float:
    """Total latency (ms) or energy (mJ) of one architecture; ``UserError`` for energy
    from a LUT without energy."""
    if metric == "latency":
        return lut.latency_ms(ops)
    if metric == "energy":
        if not lut.has_energy:
            raise UserError(f"LUT {lut.name} has no energy data (energy_source: none); use --metric latency")
        return lut.energy_mj(ops)
    raise UserError(f"unknown metric {metric!r}; expected latency or energy")


def lut_estimates(
    search_lut: str,
    space: SearchSpace,
    ops,
    cost: CostTensors | None = None,
    energy_kind: str = "dynamic",
    target: DeployTarget | None = None,
) -> list[dict]:
    """The estimate of every LUT that matches the space: the search LUT first (or the
    given in-memory ``cost`` under its name; it must describe ``target``, default
    ExecuTorch fp32), then the builtin ones with the same searchable layers (and energy
    of ``energy_kind``, when they have energy), each naming the target it describes."""
    target = target or DeployTarget()
    out = []
    for spec in [search_lut] + [f"builtin:{n}" for n in builtin_names() if f"builtin:{n}" != search_lut]:
        if spec == search_lut:
            model = (
                TableCost(cost) if cost is not None else ensure_lut(spec, space, energy_kind=energy_kind, target=target)
            )
        else:
            try:
                model = load_lut(spec, energy_kind)
                model.check_space(space)
            except UserError:
                continue
        device = getattr(model, "device", None)
        lut_target = model.target.key if isinstance(model, Lut) else target.key
        energy = model.energy_mj(ops)
        out.append(
            {
                "name": spec,
                "device": device.get("name") if isinstance(device, dict) else None,
                "lut_latency_ms": model.latency_ms(ops),
                "lut_energy_mj": energy,
                "energy_source": model.energy_source if energy is not None else "none",
                "target": lut_target,
            }
        )
    return out


def read_archs_file(path: str) -> list[list[str]]:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except OSError as err:
        raise UserError(f"--archs-file {path}: cannot read ({err.strerror})") from None
    except json.JSONDecodeError as err:
        raise UserError(f"--archs-file {path}: not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(data, list) or not all(isinstance(a, list) and all(isinstance(o, str) for o in a) for a in data):
        raise UserError(f"--archs-file {path}: expected a JSON list of lists of op names")
    return data


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m lut.estimate", description=__doc__.split("\n\n")[0])
    p.add_argument("--lut", required=True, help="LUT file or builtin:<name>")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--arch", help="comma-separated op names, one per layer")
    group.add_argument("--archs-file", help="JSON list of op-name lists")
    p.add_argument("--metric", default="latency", choices=("latency", "energy"))
    p.add_argument(
        "--energy-kind",
        default="dynamic",
        choices=ENERGY_KINDS,
        help="energy: dynamic (total - idle power x time, default) or total",
    )
    args = p.parse_args(argv)
    lut = load_lut(args.lut, args.energy_kind)
    space = lut.search_space()  # architectures are checked against the LUT's own space
    unit = "ms" if args.metric == "latency" else "mJ"
    source = "" if args.metric == "latency" else f" ({lut.energy_kind} energy, {lut.energy_source})"
    if args.arch is not None:
        ops = space.check_arch([o.strip() for o in args.arch.split(",")], "--arch")
        print(f"{args.metric}={estimate(lut, ops, args.metric):.9f} {unit}{source}")
        return
    archs = [
        space.check_arch(a, f"--archs-file {args.archs_file}: entry {i}")
        for i, a in enumerate(read_archs_file(args.archs_file))
    ]
    totals = [estimate(lut, a, args.metric) for a in archs]
    for i, t in enumerate(totals):
        print(f"{i}\t{t:.9f} {unit}{source}")
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
