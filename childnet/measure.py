"""Measure an exported childnet on this machine: latency (median + IQR, the timing
protocol of ``hwnas.timing``, the same as ``lut.validate``) and energy when a real
meter is attached.

Runs on any machine with torch and the ``hwnas`` package (a Raspberry Pi): it imports
only torch, ``hwnas.timing``, ``hwnas.meters``, ``hwnas.device`` and ``childnet.export``.

CLI: ``python -m childnet.measure --model FILE [--meter none|rapl|ina219] [--threads N]``
prints the "measured" JSON of metrics.json.
"""

from __future__ import annotations

import argparse
import json

import torch

from childnet.export import load_exported
from hwnas.device import describe
from hwnas.errors import UserError, cli_main
from hwnas.meters import get_meter
from hwnas.timing import measure

__all__ = ["main", "measure_file", "measure_module"]


def measure_module(module, input_shape, *, threads=1, warmup=10, repeats=50, meter="none", batch_size=1) -> dict:
    """The "measured" dict for a module taking ``(batch_size, *input_shape)`` inputs."""
    if batch_size < 1 or threads < 1 or repeats < 1 or warmup < 0:
        raise UserError(f"measure: need batch_size, threads, repeats >= 1 and warmup >= 0, got "
                        f"{batch_size}, {threads}, {repeats}, {warmup}")
    x = torch.randn(batch_size, *input_shape, generator=torch.Generator().manual_seed(0))
    result = measure(module, x, warmup=warmup, repeats=repeats, threads=threads, meter=get_meter(meter))
    result["device"] = describe(threads)["name"]
    result["batch_size"] = batch_size
    return result


def measure_file(path, *, threads=1, warmup=10, repeats=50, meter="none", batch_size=1) -> dict:
    """Load a file written by ``childnet.export.export_model`` and measure it."""
    try:
        module, meta = load_exported(path)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    return measure_module(module, meta["input_shape"], threads=threads, warmup=warmup, repeats=repeats,
                          meter=meter, batch_size=batch_size)


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m childnet.measure", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model.pt written by childnet.train")
    p.add_argument("--meter", default="none", help="none | rapl | ina219")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=1)
    a = p.parse_args(argv)
    print(json.dumps(measure_file(a.model, threads=a.threads, warmup=a.warmup, repeats=a.repeats, meter=a.meter,
                                  batch_size=a.batch_size)))


if __name__ == "__main__":
    main()
