"""A search's setup, resolved from its config (``SearchSetup``), the arch.json record,
and the weights-only warm-up file that trials differing only in the loss knobs share."""

from __future__ import annotations

from pathlib import Path

from hwnas.config import ExperimentConfig, rename_old_keys
from hwnas.data import Splits, TensorLoader, splits_for
from hwnas.diff import differences
from hwnas.errors import UserError
from hwnas.io import atomic_save, load_checkpoint
from hwnas.space import SearchSpace
from hwnas.stages import stage_key
from lut import experiment_lut
from lut.cost import CostTensors, TableCost
from supernet.loss import SearchLoss

__all__ = ["WARMUP_KEYS", "SearchSetup", "arch_record", "load_warmup", "save_warmup"]

WARMUP_KEYS = ("key", "model", "w_opt")


class SearchSetup:
    """Everything a search needs, resolved from the config: the LUT's space, the
    (possibly narrower) space the supernet trains in, the data splits, the costs."""

    def __init__(self, cfg: ExperimentConfig, cost: CostTensors | None = None):
        s = cfg.search  # its rules were checked when the config was loaded (hwnas.config)
        self.cfg = cfg
        self.space: SearchSpace = cfg.search_space()
        self.proxy_space: SearchSpace = self.space if s.proxy_width is None else cfg.search_space(s.proxy_width)
        d = cfg.data
        self.splits: Splits = splits_for(d, self.space)
        self.lut_name = cfg.lut.path
        if cost is None:
            lut = experiment_lut(cfg, self.space)
            lut.check_space(self.space)
            cost = lut.cost_tensors()
        self.cost = _check_cost(cost, self.space, self.lut_name)
        self.loss = SearchLoss.from_config(cfg.loss, self.cost, use_energy=cfg.lut.energy, lut_name=self.lut_name)

    def loaders(self) -> tuple[TensorLoader, TensorLoader]:
        d, s = self.cfg.data, self.cfg.search
        weights = TensorLoader(
            self.splits.weights, d.batch_size, seed=s.seed, augment=d.augment, max_batches=s.steps_per_epoch
        )
        arch = TensorLoader(
            self.splits.arch, d.batch_size, seed=s.seed + 1, augment=d.augment, max_batches=s.steps_per_epoch
        )
        return weights, arch


def _check_cost(cost: CostTensors, space: SearchSpace, name: str) -> CostTensors:
    want = (space.num_layers, len(space.ops))
    if tuple(cost.op_names) != tuple(space.ops):
        raise UserError(f"LUT {name}: ops {list(cost.op_names)} differ from space {space.name}'s {list(space.ops)}")
    if tuple(cost.latency_ms.shape) != want:
        raise UserError(
            f"LUT {name}: latency table is {tuple(cost.latency_ms.shape)}, space {space.name} needs {want} "
            f"(layers, ops); the LUT is for another space"
        )
    if cost.energy_mj is not None and tuple(cost.energy_mj.shape) != want:
        raise UserError(f"LUT {name}: energy table is {tuple(cost.energy_mj.shape)}, expected {want}")
    return cost


def arch_record(setup: SearchSetup, ops: list[str]) -> dict:
    """arch.json (docs/formats.md): the argmax architecture and its LUT costs."""
    table = TableCost(setup.cost)
    s = setup.cfg.search
    return {
        "space": setup.space.record(),
        "ops": ops,
        "lut_latency_ms": table.latency_ms(ops),
        "lut_energy_mj": table.energy_mj(ops),
        "energy_source": setup.cost.energy_source if setup.cost.has_energy else "none",
        "lut": setup.lut_name,
        "proxy_width": s.proxy_width,
        "search_width": setup.proxy_space.width,
        # why this architecture: the most probable op per layer under the final theta
        "picked": "argmax",
        "arch_seed": s.arch_seed if s.arch_seed is not None else s.seed,
    }


def save_warmup(path: Path, cfg: ExperimentConfig, model: dict, w_opt: dict, metrics: dict | None = None) -> None:
    """The warm-up file (``WARMUP_KEYS``, and ``metrics``, the warm-up's last epoch, when known:
    its training CE scales a sweep's relative knobs), keyed by ``cfg``'s warm-up stage."""
    state = {"key": stage_key("warmup", cfg), "model": model, "w_opt": w_opt}
    atomic_save(state if metrics is None else {**state, "metrics": metrics}, path)


def load_warmup(path: Path, cfg: ExperimentConfig) -> dict:
    """The warm-up file at ``path``, checked to be made with ``cfg``'s warm-up config."""
    state = load_checkpoint(path, "warm-up file", WARMUP_KEYS)
    # the warm-up's key (hwnas.stages), maybe recorded before a rename
    diff = differences(rename_old_keys(state["key"]), stage_key("warmup", cfg))
    if diff:
        raise UserError(f"{path}: warm-up made with another config: {'; '.join(diff)}")
    return state
