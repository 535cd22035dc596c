"""Figure: a sweep on the user's own image folder at the user's input size, and what
streaming from disk costs against the in-memory path on the same data.

Writes a real image folder from Fashion-MNIST's files (the Debian package): 5 classes
(T-shirt/top, Trouser, Pullover, Dress, Coat), gray PNGs resized to 64x64 with PIL,
``train/`` from the training split (``--per-class`` images a class) and ``test/`` from
the test split (all 1,000 a class). Then:

1. the data path alone: one epoch of ``TensorLoader`` batches (128, shuffled) over the
   training part, in memory and streamed from the PNG files (``data.memory_budget_mb``
   tiny, ``data.workers`` 2): images/s of each;
2. a ``--trials`` sweep through the folder path (``python -m sweep.run``: space
   fbnet-cpu at 1x64x64, its LUT profiled on this host, ONNX Runtime) with its final stage
   (the recommended architecture trained again with the default ``final`` recipe on the
   whole ``train/`` folder): ``final_test_acc`` is that model's accuracy on the 5,000 test
   images (the line before gives the proxy-trained childnet's).

Run it on a quiet machine.

    .venv/bin/python bench/own_data.py [--trials 4] [--per-class 600] [--out DIR]

Last line: ``classes=5 input=1x64x64 trials=4 finished=4 final_test_acc=<acc>``; the line
before it: ``in_memory_images_per_s=<n> streamed_images_per_s=<n> ratio=<x>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hwnas.layout import RECORD, report_dir

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {0: "t-shirt_top", 1: "trouser", 2: "pullover", 3: "dress", 4: "coat"}  # Fashion-MNIST labels
SIZE = 64

CONFIG = f"""# bench/own_data.py: the default sweep's recipe on the user's folder at 1x{SIZE}x{SIZE}
space: {{preset: fbnet-cpu, width: 1.0, input_size: {SIZE}, channels: 1}}
data: {{dataset: imagefolder, root: ROOT, batch_size: 64, seed: 0}}
lut: {{path: auto, energy: true}}
deploy: {{runtime: onnxruntime, precision: fp32}}
search: {{execution: exact, proxy_width: 0.25, warmup_epochs: 6, epochs: 9, steps_per_epoch: 10, theta_lr: 0.05,
          threads: 1, seed: 0}}
child: {{epochs: 3, lr: 0.1, batch_size: 64, threads: 1, seed: 0}}
measure: {{device: local, threads: 1, warmup: 10, repeats: 150, rounds: 30, tries: 3}}
sweep: {{trials: 4, concurrency: 2, cpus_per_trial: 1.0}}
final: {{epochs: 10}}
"""


def write_folder(root: Path, per_class: int) -> Path:
    """``root/train/<class>/*.png`` (``per_class`` of the training split) and ``root/test/...``
    (the whole test split of each class), gray, resized to SIZE x SIZE."""
    from PIL import Image

    from hwnas.data import load_dataset

    for part, train, n in (("train", True, per_class), ("test", False, None)):
        ds = load_dataset("fashion-mnist", train, (1, 28, 28))
        images, labels = ds.images[:, 0].numpy(), ds.labels.numpy()
        for label, name in CLASSES.items():
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            for j, i in enumerate(np.flatnonzero(labels == label)[:n]):
                Image.fromarray(images[i]).resize((SIZE, SIZE), Image.BILINEAR).save(folder / f"{j:05d}.png")
    return root


def images_per_s(root: Path, streamed: bool) -> float:
    """The training part's batches of epoch 1, timed after an untimed epoch 0 (first-call costs aside;
    streamed, each epoch starts its decoding processes anew: counted)."""
    from hwnas.data import TensorLoader, make_splits

    budget = 0.001 if streamed else 1024.0
    splits = make_splits("imagefolder", (1, SIZE, SIZE), str(root), memory_budget_mb=budget, workers=2)
    assert splits.train.streamed == streamed
    loader = TensorLoader(splits.train, 128, seed=0)
    sum(len(y) for _, y in loader)
    loader.set_epoch(1)
    start = time.perf_counter()
    n = sum(len(y) for _, y in loader)
    return n / (time.perf_counter() - start)


def sweep(root: Path, out: Path, trials: int) -> tuple[dict, dict, list]:
    """``(sweep.json, the recommended model, the final models)`` of a ``trials`` sweep on the folder."""
    config = out / "own.yaml"
    config.write_text(CONFIG.replace("ROOT", str(root)))
    cmd = [sys.executable, "-m", "sweep.run", "--config", str(config), "--storage", str(out / "exps")]
    cmd += ["--name", "own", "--trials", str(trials)]
    subprocess.run(cmd, cwd=ROOT, check=True)
    from pareto.experiment import read_experiment
    from pareto.recommended import recommended_model

    experiment = out / "exps" / "own"
    record = json.loads((experiment / RECORD).read_text())
    exp = read_experiment(str(experiment), skip_dir=str(report_dir(experiment)))
    return record, recommended_model(exp) or {}, exp.finals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--per-class", type=int, default=600, help="training images a class (of 6,000)")
    p.add_argument("--out", default=None, help="keep the folder and the experiment here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="own-data-") as tmp:
        out = Path(a.out or tmp)
        t0 = time.perf_counter()
        root = write_folder(out / "pictures", a.per_class)
        t1 = time.perf_counter()
        memory, streamed = images_per_s(root, False), images_per_s(root, True)
        load = os.getloadavg()[0]
        record, rec, finals = sweep(root, out, a.trials)
        t2 = time.perf_counter()
        finished = record["runs"][-1].get("finished")
        data = record["data"]
        print(
            f"folder_s={t1 - t0:.1f} sweep_s={t2 - t1:.1f} final_s={record['runs'][-1].get('final_s')} "
            f"recommended={rec.get('trial_dir')} proxy_test_acc={rec.get('test_acc')} "
            f"loadavg={load:.2f}/{os.getloadavg()[0]:.2f} cpus={os.cpu_count()}"
        )
        print(f"in_memory_images_per_s={memory:.0f} streamed_images_per_s={streamed:.0f} ratio={memory / streamed:.1f}")
        acc = finals[0]["test_acc"] if finals else None
        print(
            f"classes={data['num_classes']} input={'x'.join(map(str, data['input_shape']))} trials={a.trials} "
            f"finished={finished} final_test_acc={'n/a' if acc is None else f'{acc:.4f}'}"
        )


if __name__ == "__main__":
    main()
