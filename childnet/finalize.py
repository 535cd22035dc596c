"""The take-home model: a found architecture trained again from scratch with the longer
``final`` recipe on the whole training split, then tested (fp32 and, for an int8 target,
int8), exported for the deploy target and measured, like a childnet.

Why: the search's childnets get a proxy recipe (``child``: a few epochs on a subset) that
ranks architectures in seconds; the model a user takes home deserves the full recipe, as
FBNet and the HANNA report retrain the chosen network before quoting its accuracy.

The recipe is the childnet's (``childnet.recipe``: SGD, cosine decay, a checkpoint every
epoch, so ``--resume`` continues exactly) with ``final``'s epochs, learning rate, label
smoothing, augmentation and batch size, on the whole training split (``data.train_size``
is the search's subset; ``final.train_size`` may set one for quick checks).
``metrics.json`` is a childnet's (docs/formats.md) plus ``final``: the recipe and, when
given, the trial the architecture came from and its proxy accuracy.

CLI: ``python -m childnet.finalize --arch arch.json --config FILE --out DIR [--resume]
[--from-trial ID --proxy-test-acc X] [key=value ...]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from childnet.train import run_child
from hwnas.config import ExperimentConfig, load_config
from hwnas.errors import cli_main
from hwnas.io import atomic_write_json
from hwnas.layout import ARCH, METRICS

__all__ = ["final_config", "finalize", "main"]


def final_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` with the childnet recipe replaced by the ``final`` one, on the whole
    training split (``final.train_size``: a subset), on every core unless ``final.threads``
    says otherwise."""
    f = cfg.final
    child = dataclasses.replace(
        cfg.child,
        epochs=f.epochs,
        lr=f.lr,
        weight_decay=f.weight_decay,
        label_smoothing=f.label_smoothing,
        batch_size=f.batch_size,
        threads=f.threads or os.cpu_count() or 1,
        seed=f.seed,
        export="deploy",
    )
    data = dataclasses.replace(cfg.data, train_size=f.train_size, augment=f.augment)
    return dataclasses.replace(cfg, child=child, data=data)


def finalize(cfg: ExperimentConfig, arch, out_dir, *, resume: bool = False, origin: dict | None = None, on_epoch=None):
    """Train, test, export and measure ``arch`` with the final recipe into ``out_dir``;
    returns its metrics.json dict (with ``final``: the recipe and ``origin``, e.g.
    ``{"trial": id, "proxy_test_acc": x}``)."""
    final = final_config(cfg)
    result = run_child(final, arch, out_dir, resume=resume, on_epoch=on_epoch)
    result["final"] = {"recipe": dataclasses.asdict(cfg.final), **(origin or {})}
    atomic_write_json(Path(out_dir) / METRICS, result)
    return result


@cli_main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m childnet.finalize", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, help=f"{ARCH} written by supernet.search")
    p.add_argument("--config", required=True, help="experiment YAML (its final: section is the recipe)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--from-trial", help="the trial the architecture came from (recorded)")
    p.add_argument("--proxy-test-acc", type=float, help="its proxy-trained test accuracy (recorded)")
    p.add_argument("overrides", nargs="*", help="section.key=value, e.g. final.epochs=20")
    a = p.parse_args(argv)
    cfg = load_config(a.config, a.overrides)
    origin = {"trial": a.from_trial, "proxy_test_acc": a.proxy_test_acc} if a.from_trial else None

    def show(m):
        print(f"final epoch {m['epoch']}/{m['epochs']} train_acc={m['train_acc']:.3f} ({m['seconds']:.1f}s)")

    result = finalize(cfg, a.arch, a.out, resume=a.resume, origin=origin, on_epoch=show)
    print(json.dumps({k: result[k] for k in ("test_acc", "params", "measured", "train_seconds", "final")}))


if __name__ == "__main__":
    main()
