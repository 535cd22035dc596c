"""Training throughput (images/s) of the supernet's executions (search.execution) on the same
config, weights and real data batches, in one run.

A step is one weights step of the search loop: sample masks, forward, backward, SGD.
Modes run interleaved for ``--rounds`` rounds and the best round counts, on one
thread. Ratios use CPU time (``time.process_time``): on a machine shared with other
jobs it is far less noisy than wall time; on a quiet machine the two agree (the wall
figures are printed too).

    .venv/bin/python bench/supernet_throughput.py [--config configs/smoke.yaml] [--steps 4] [key=value ...]

Last line: ``exact=<ratio> single_path=<ratio>`` (images/s relative to naive).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from hwnas.config import load_config
from hwnas.data import TensorLoader, make_splits
from supernet.model import Supernet

# (label, execution, channels_last): the three executions, then a reference that shows how much of
# exact's gain is the layout alone
VARIANTS = [
    ("naive", "naive", False),
    ("exact", "exact", True),
    ("single_path", "single_path", True),
    ("naive+channels_last", "naive", True),
]


def time_steps(net, batches, temperature=5.0):
    opt = torch.optim.SGD(net.weight_parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        masks = net.sample_masks(temperature).detach()
        loss = F.cross_entropy(net(x, masks), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step(*batches[0])  # first call: allocator and kernel caches
    wall, cpu = time.perf_counter(), time.process_time()
    for x, y in batches[1:]:
        step(x, y)
    return time.perf_counter() - wall, time.process_time() - cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/smoke.yaml")
    p.add_argument("--steps", type=int, default=4, help="timed steps per execution and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("overrides", nargs="*")
    a = p.parse_args()
    cfg = load_config(a.config, a.overrides)
    torch.set_num_threads(a.threads)
    space = cfg.search_space(cfg.search.proxy_width)
    d = cfg.data
    splits = make_splits(
        d.dataset, space.input_shape, d.root, False, d.train_size, d.test_size, d.arch_fraction, d.seed
    )
    loader = TensorLoader(splits.weights, d.batch_size, seed=0, drop_last=True)
    batches = [b for _, b in zip(range(a.steps + 1), loader)]
    if len(batches) < a.steps + 1:
        raise SystemExit(f"need {a.steps + 1} full batches of {d.batch_size}; raise data.train_size")
    images = a.steps * d.batch_size
    print(
        f"space={space.name} width={space.width} layers={space.num_layers} batch={d.batch_size} steps={a.steps} "
        f"rounds={a.rounds} threads={a.threads} dataset={d.dataset}"
    )

    torch.manual_seed(0)
    start = Supernet(space, "naive").state_dict()
    best = {}
    for _ in range(a.rounds):
        for label, execution, channels_last in VARIANTS:
            net = Supernet(space, execution, channels_last=channels_last)
            net.load_state_dict(start)
            torch.manual_seed(1)  # same masks for every execution
            wall, cpu = time_steps(net, batches)
            w0, c0 = best.get(label, (float("inf"), float("inf")))
            best[label] = (min(w0, wall), min(c0, cpu))
    for label, (wall, cpu) in best.items():
        print(f"{label:22s} images/s cpu={images / cpu:8.1f} wall={images / wall:8.1f}")
    naive_wall, naive_cpu = best["naive"]
    print("wall: " + " ".join(f"{k}={naive_wall / best[k][0]:.2f}" for k in ("exact", "single_path")))
    print(f"exact={naive_cpu / best['exact'][1]:.2f} single_path={naive_cpu / best['single_path'][1]:.2f}")


if __name__ == "__main__":
    main()
