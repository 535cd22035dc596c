"""Retrain a found architecture from scratch, evaluate, export and measure it.

The architecture becomes a plain network (``hwnas.network.build_network``: identity
skips vanish) at the space's real width (the width the LUT describes, not the
search's proxy width). It is trained with the childnet recipe (``childnet.recipe``: SGD
with cosine decay over ``child.epochs`` on the whole training subset, a checkpoint every
epoch, ``--resume`` continues exactly); then come its test accuracy, parameters, FLOPs
(``torch.utils.flop_counter``), the deployed file of the ``deploy`` target (``model.pte``,
``model.onnx``; ``childnet.deploy``: what ``childnet.measure`` times), the data file
``model.weights.pt`` (the weights as data) and ``metrics.json``
(docs/formats.md).

CLI: ``python -m childnet.train --arch arch.json --config FILE --out DIR [--resume] [key=value ...]``
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable
from pathlib import Path

import torch
import yaml

from childnet.deploy import export_deployable
from childnet.export import save_model_data
from childnet.measure import measure_file
from childnet.recipe import train_and_test
from hwnas.config import ExperimentConfig, config_to_dict, load_config
from hwnas.data import data_record, splits_for
from hwnas.device_name import is_local
from hwnas.errors import UserError, cli_main
from hwnas.flops import count_flops
from hwnas.io import atomic_write_json, atomic_write_text, read_json
from hwnas.keys import upgrade
from hwnas.layout import ARCH, CHECKPOINT, CONFIG, METRICS, WEIGHTS
from hwnas.network import build_network
from hwnas.space import SearchSpace
from lut import experiment_lut
from lut.cost import CostTensors
from lut.estimate import lut_estimates

__all__ = ["main", "read_arch", "run_child"]

_NOT_MEASURED = {
    "latency_ms": None,
    "latency_iqr_ms": None,
    "energy_mj": None,
    "energy_source": "none",
    "device": None,
    "threads": None,
    "batch_size": None,
}


def read_arch(arch) -> tuple[list[str], dict]:
    """``(ops, arch record)`` from an arch.json path, its dict, or a list of op names."""
    if isinstance(arch, (str, Path)):
        path = Path(arch)
        if not path.is_file():
            raise UserError(f"architecture file {path} not found")
        arch = read_json(path, "architecture file")  # one line for invalid, too deep, huge integers
        source = str(path)
        arch = upgrade(arch, "arch", source)  # an arch.json from before a key was renamed
    else:
        source = "architecture"
    if isinstance(arch, dict):
        if not isinstance(arch.get("ops"), list):
            raise UserError(f"{source}: expected a list of op names under 'ops'")
        return list(arch["ops"]), arch
    if isinstance(arch, (list, tuple)):
        return list(arch), {"ops": list(arch)}
    raise UserError(f"{source}: expected an {ARCH} path, its mapping or a list of op names")


def _check_arch_space(record: dict, space: SearchSpace, source: str) -> None:
    searched = record.get("space")
    if not isinstance(searched, dict):
        return
    if searched.get("name") != space.name or searched.get("layers_hash", space.layers_hash()) != space.layers_hash():
        raise UserError(
            f"{source}: searched in space {searched.get('name')} (width {searched.get('width')}, layers_hash "
            f"{searched.get('layers_hash')}), but the config describes {space.name} (width {space.width}, "
            f"layers_hash {space.layers_hash()})"
        )


def _out_folder(out_dir) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: is a file, expected a folder")
    return out_dir


def _checked_ops(ops: list, record: dict, arch, space: SearchSpace) -> list:
    """``ops`` checked against ``space``, and the space ``record`` says it was searched in."""
    source = str(arch) if isinstance(arch, (str, Path)) else "architecture"
    ops = space.check_arch(ops, source)
    _check_arch_space(record, space, source)
    return ops


def _export(model, out_dir: Path, cfg: ExperimentConfig, space: SearchSpace, ops: list, splits) -> tuple:
    """``(deployed, data_path, timed)``: the data file and the deployed file written (all None
    when child.export is none), and the file a device times: the lowered program; eager
    PyTorch and TorchScript rebuild from the data file."""
    if cfg.child.export == "none":
        return None, None, None
    meta = {"input_shape": list(space.input_shape), "ops": ops, "space": space.record()}
    data_path = save_model_data(model, out_dir / WEIGHTS, meta)  # the weights as data (rebuilds anywhere)
    deployed = export_deployable(model, out_dir, meta, cfg.deploy, splits, cfg.child.batch_size)
    timed = (out_dir / deployed["file"] if cfg.deploy.target().lowered else data_path) if deployed else None
    return deployed, data_path, timed


def run_child(
    cfg: ExperimentConfig,
    arch,
    out_dir,
    *,
    resume: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    measure_with: bool | Callable = True,
    cost: CostTensors | None = None,
) -> dict:
    """Train, evaluate, export and measure ``arch``; returns the metrics.json dict.

    ``measure_with`` (what times the model): True measures on this host (``childnet.measure``);
    a callable gets the deployed file's path (``model.pte``, ...) and returns the "measured" dict
    (e.g. from a device's Ray node); False leaves the measured fields null with a note.
    ``cost``: in-memory costs standing for ``cfg.lut.path`` (else the LUT is loaded).
    """
    out_dir = _out_folder(out_dir)
    c, d = cfg.child, cfg.data
    if c.threads:
        torch.set_num_threads(c.threads)
    ops, record = read_arch(arch)
    space = cfg.search_space()
    splits = splits_for(d, space)
    ops = _checked_ops(ops, record, arch, space)
    # before training: a wrong LUT (space, target) fails fast
    estimates = lut_estimates(cfg.lut.path, space, ops, cost, cfg.lut.energy_kind, cfg.deploy.target())
    config = config_to_dict(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)  # bad input has failed above, before anything is written

    torch.manual_seed(c.seed)  # the initial weights
    model = build_network(space, ops)
    atomic_write_text(out_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))
    model, train_seconds, test_acc = train_and_test(
        model, cfg, splits, out_dir / CHECKPOINT, ops, resume=resume, on_epoch=on_epoch
    )
    params = sum(p.numel() for p in model.parameters())
    flops = count_flops(model, list(space.input_shape))
    deployed, data_path, timed = _export(model, out_dir, cfg, space, ops, splits)
    measured = _measure(measure_with, timed, cfg, space)
    search_lut = {k: estimates[0][k] for k in ("name", "lut_latency_ms", "lut_energy_mj", "energy_source", "target")}
    result = {
        "test_acc": test_acc,
        "params": params,
        "flops": flops,
        "ops": ops,
        "space": space.record(),
        "data": data_record(splits),  # the classes (names, count) and input the model takes
        "lut": search_lut,
        "lut_estimates": estimates,
        "measured": measured,
        "train_seconds": train_seconds,
        "epochs": c.epochs,
        "model": deployed["file"] if deployed else None,
        "weights": data_path.name if data_path else None,
        "deploy": deployed,
        "reused_from": None,
    }
    atomic_write_json(out_dir / METRICS, result)
    return result


def _measure(measure_with, model_path, cfg, space) -> dict:
    m = cfg.measure
    if measure_with is False or measure_with is None:
        return {**_NOT_MEASURED, "note": "not measured (measure_with=False)"}
    if model_path is None:
        return {**_NOT_MEASURED, "note": "not measured: child.export is none"}
    if callable(measure_with):
        return measure_with(model_path)
    if not is_local(m.device):
        return {
            **_NOT_MEASURED,
            "note": f"not measured: measure.device is {m.device!r}; measure on the device with "
            f"python -m childnet.measure --model {shlex.quote(str(model_path))}",
        }
    # timed against the search LUT's speed reference, like the LUT's entries
    reference = None if cfg.lut.path.startswith("builtin:") else experiment_lut(cfg, space).measurement_reference()
    return measure_file(model_path, reference=reference, target=cfg.deploy.target(), **m.protocol())


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m childnet.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, help=f"{ARCH} written by supernet.search")
    p.add_argument("--config", required=True, help="experiment YAML")
    p.add_argument("--out", required=True, help=f"output folder ({METRICS}, model.pt, {CHECKPOINT})")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-measure", action="store_true", help="skip the latency measurement on this host")
    p.add_argument("overrides", nargs="*", help="section.key=value, e.g. child.epochs=2")
    a = p.parse_args(argv)
    cfg = load_config(a.config, a.overrides)

    def show(m):
        print(
            f"epoch {m['epoch']}/{m['epochs']} loss={m['train_loss']:.3f} train_acc={m['train_acc']:.3f} "
            f"({m['seconds']:.1f}s)",
            flush=True,
        )

    result = run_child(cfg, a.arch, a.out, resume=a.resume, on_epoch=show, measure_with=not a.no_measure)
    print(json.dumps({k: result[k] for k in ("test_acc", "params", "flops", "lut", "measured", "train_seconds")}))


if __name__ == "__main__":
    main()
