"""The random baseline: trials that train architectures drawn uniformly from the space.

``--strategy random`` keeps everything of a sweep but the search. Ray Tune proposes the
architectures through its own machinery: ``RandomArchSearcher`` is a ``tune.search``
``Searcher`` whose proposal number ``i`` draws every layer's op with Ray Tune's
``tune.choice(space.ops)`` sampler from a generator seeded by ``(sweep.seed, i)``, so
the ``i``-th architecture of a sweep depends on the seed and ``i`` only: reproducible,
and the same after ``--resume`` (the searcher's counter is saved with Ray Tune's
searcher state). ``sweep.searcher.TrialLimitSearch`` wraps it as it wraps Optuna, so
``--resume --trials N`` extends a random sweep too.

``random_trial`` is the trainable: it writes ``search/arch.json`` (the ops, their LUT
estimate and ``"picked": "random"``, in the format of a searched arch.json), then
retrains, tests and measures the childnet exactly as a DNAS trial does
(``sweep.trial``'s childnet stage, reuse registry included). No supernet, no warm-up.
The trial's config (``params.json``) is ``{"ops": [...], "arch_index": i}``. The searcher
ignores ``sweep.budget`` (uniform draws are the point); the final rows and the report
still mark each trial against it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from ray import tune
from ray.tune.search import ConcurrencyLimiter, Searcher

from hwnas.config import config_from_dict
from hwnas.layout import ARCH, search_dir
from lut import experiment_lut
from sweep.experiment import write_json
from sweep.searcher import TrialLimitSearch
from sweep.trial import TrialContext, run_trial

__all__ = ["RandomArchSearcher", "draw_architecture", "make_random_search_alg", "random_arch_record", "random_trial"]

PICKED = "random"


def draw_architecture(ops, num_layers: int, seed: int, index: int) -> list[str]:
    """Architecture number ``index`` of a random sweep seeded ``seed``: one op per layer,
    uniformly among ``ops``, drawn by Ray Tune's categorical sampler."""
    rng = np.random.default_rng([seed, index])  # (seed, index) -> its own stream: no order dependence
    drawn = tune.choice(list(ops)).sample(size=num_layers, random_state=rng)
    return list(drawn) if num_layers > 1 else [drawn]


class RandomArchSearcher(Searcher):
    """Proposes ``{"ops": draw_architecture(..., index), "arch_index": index}``, index 0, 1, ...

    It learns nothing from results (that is the point of the baseline). Its state is the
    next index, saved and restored by Ray Tune with the experiment."""

    def __init__(self, ops, num_layers: int, seed: int = 0):
        super().__init__(metric=None, mode=None)
        self.ops, self.num_layers, self.seed = tuple(ops), int(num_layers), int(seed)
        self.next_index = 0

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return True  # the space is the searcher's own; no metric is needed

    def suggest(self, trial_id: str) -> dict:
        index = self.next_index
        self.next_index += 1
        return {"ops": draw_architecture(self.ops, self.num_layers, self.seed, index), "arch_index": index}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        pass

    def get_state(self) -> dict:
        return {"ops": self.ops, "num_layers": self.num_layers, "seed": self.seed, "next_index": self.next_index}

    def set_state(self, state: dict) -> None:
        self.ops, self.num_layers = tuple(state["ops"]), state["num_layers"]
        self.seed, self.next_index = state["seed"], state["next_index"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))


def make_random_search_alg(space, *, concurrency: int, seed: int) -> TrialLimitSearch:
    """The random searcher behind the same concurrency limit and budget as Optuna's."""
    searcher = RandomArchSearcher(space.ops, space.num_layers, seed)
    return TrialLimitSearch(ConcurrencyLimiter(searcher, max_concurrent=concurrency))


def random_arch_record(cfg, ops, index: int) -> dict:
    """arch.json of a random trial: a searched arch.json's fields (docs/formats.md) plus
    ``picked`` and the proposal number."""
    space = cfg.search_space()
    ops = space.check_arch(ops, "random trial config")
    lut = experiment_lut(cfg, space)
    energy = lut.energy_mj(ops)
    return {
        "space": space.record(),
        "ops": ops,
        "lut_latency_ms": lut.latency_ms(ops),
        "lut_energy_mj": energy,
        "energy_source": lut.energy_source if energy is not None else "none",
        "lut": cfg.lut.path,
        "picked": PICKED,
        "arch_index": index,
        "seed": cfg.sweep.seed,
    }


def random_trial(config: dict, context: TrialContext) -> None:
    """Ray Tune function trainable of ``--strategy random`` (see the module docstring).
    Phases and resume as in ``sweep.trial.sweep_trial``; the search phase only records
    the drawn architecture."""

    def record_arch(cfg, work: Path, reporter) -> dict:
        arch = random_arch_record(cfg, config["ops"], config["arch_index"])
        write_json(search_dir(work) / ARCH, arch)
        return {"epoch": 0, "lut_latency_ms": arch["lut_latency_ms"], "lut_energy_mj": arch["lut_energy_mj"]}

    run_trial(context, lambda: config_from_dict(context.config, source="trial config"), record_arch)
