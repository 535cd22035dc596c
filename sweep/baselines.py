"""Hand-designed baselines trained the way the sweep trains its childnets.

Each baseline the config names (top-level ``baselines``: torchvision MobileNetV2,
ResNet-18, MnasNet, each at a width) is built for the space's input and classes
(``hwnas.baselines``), trained with exactly the experiment's childnet recipe
(``childnet.recipe.train_and_test``: same data split, epochs, learning rate, batch size,
threads, seed), tested on the same test split, exported as a data file like a
childnet's (``childnet.export``; no code in it) and measured on the sweep's device with
the same protocol: on this host in the quiet measurement phase after the trials
(``sweep.measurements``), on a device of its own as soon as it is trained.

Once per experiment: ``baselines/<name>.json`` holds a trained baseline's row, and a
resumed sweep trains only what is missing (an interrupted training continues from its
epoch checkpoint ``baselines/<name>.checkpoint.pt``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from childnet.export import save_model_data
from hwnas.baselines import BASELINES, baseline_model  # re-exported: the registry lives in hwnas
from hwnas.config import ExperimentConfig
from hwnas.data import splits_for
from hwnas.io import atomic_write_json, read_json

__all__ = ["BASELINES", "baseline_model", "baseline_rows", "train_baseline", "train_baselines"]


def train_baseline(cfg: ExperimentConfig, name: str, width: float, out_dir: Path, splits, num_classes: int) -> dict:
    """Train, test and export one baseline; returns (and writes as ``<name>.json``) its
    ``baselines.json`` row without measurement."""
    # here, not at the top: a module that only builds the rows (sweep.prepare) stays free of
    # the training, lowering and profiling code
    from childnet.deploy import export_deployable
    from childnet.recipe import train_and_test
    from hwnas.flops import count_flops
    from lut.energy_model import get_energy_model
    from lut.profile import DEFAULT_ENERGY_MODEL

    space = cfg.search_space()  # the input the user's config asks for (space.input_size, space.channels)
    shape, stem_stride = list(space.input_shape), space.stem_stride
    torch.manual_seed(cfg.child.seed)  # the initial weights, as for a childnet
    model = baseline_model(name, num_classes, shape, width, stem_stride)
    identity = [f"baseline:{name}", f"width:{width}", f"stem_stride:{stem_stride}"]
    model, seconds, test_acc = train_and_test(
        model, cfg, splits, out_dir / f"{name}.checkpoint.pt", identity, resume=True
    )
    meta = {
        "input_shape": shape,
        "baseline": name,
        "num_classes": num_classes,
        "width": width,
        "stem_stride": stem_stride,
    }
    save_model_data(model, out_dir / f"{name}.weights.pt", meta)
    # the deployed file in the sweep's target, as a childnet's (measured in the same runtime)
    deployed = export_deployable(
        model, out_dir, meta, cfg.deploy, splits, cfg.child.batch_size, stem=name, allow_portable=True
    )
    # modeled energy by the model this host's LUT uses (lut.profile), so a baseline compares with a
    # childnet's LUT energy where no meter measures; labeled model:<name>, never measured
    energy_model = get_energy_model(DEFAULT_ENERGY_MODEL)
    with torch.no_grad():
        model_energy = energy_model.energy_mj(model.eval(), torch.zeros(1, *shape))
    row = {
        "name": name,
        "width": width,
        "stem_stride": stem_stride,
        "input_shape": shape,
        "num_classes": num_classes,
        "test_acc": test_acc,
        "train_seconds": seconds,
        "epochs": cfg.child.epochs,
        "params": sum(p.numel() for p in model.parameters()),
        "flops": count_flops(model, shape),
        "model_energy_mj": model_energy,
        "model_energy_source": energy_model.source,
        "weights": f"baselines/{name}.weights.pt",
        "model": f"baselines/{deployed['file']}",
        "deploy": deployed,
        "note": f"torchvision {name} at width {width:g}, stem stride {stem_stride} (the space's), "
        f"{'x'.join(map(str, shape))} inputs, {num_classes} classes; trained with the sweep's childnet "
        f"recipe ({cfg.child.epochs} epochs, lr {cfg.child.lr:g}, batch {cfg.child.batch_size}, seed "
        f"{cfg.child.seed}) on the same split; measured with the childnet protocol",
    }
    atomic_write_json(out_dir / f"{name}.json", row)
    return row


def train_baselines(cfg: ExperimentConfig, out_dir: str | Path) -> list[dict]:
    """Every baseline the config names, trained once: a baseline whose ``<name>.json``
    exists with the same width is read back, not trained again. Sets the recipe's
    thread count (this runs in a Ray task of its own, like a trial)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    widths = cfg.baselines.widths()
    done = {}
    for name, width in widths.items():
        path = out_dir / f"{name}.json"
        row = read_json(path, "baseline record") if path.is_file() else None
        if isinstance(row, dict) and row.get("width") == width and row.get("test_acc") is not None:
            done[name] = row
    if len(done) < len(widths):
        if cfg.child.threads:
            torch.set_num_threads(cfg.child.threads)
        space = cfg.search_space()
        splits = splits_for(cfg.data, space)
        for name, width in widths.items():
            if name not in done:
                done[name] = train_baseline(cfg, name, width, out_dir, splits, space.num_classes)
    return [done[name] for name in widths]


def baseline_rows(trained: list[dict], measure_with) -> list[dict]:
    """``baselines.json`` rows: each trained row with its ``measured`` record, as a childnet's
    (``measure_with(row) -> measured dict``: the device's measurement, or ``pending`` when the
    quiet phase times it: ``measurements.json`` then holds it, ``hwnas.measured`` joins it)."""
    return [{**row, "measured": measure_with(row)} for row in trained]
