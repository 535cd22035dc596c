"""What each stage's result depends on: one table (``STAGES``) and one function
(``stage_key``) from which every resume check and every reuse key is built.

A stage's key is the part of the config its result depends on: two runs with equal keys
make the same result, so a file of one may stand in for the other's (a checkpoint
resumed, a warm-up shared, a trained childnet reused). A stage names config sections,
each whole, narrowed to some fields (``only``) or without some (``without``):

============  ==================================================  =========================================
stage         depends on                                          whose file
============  ==================================================  =========================================
warmup        space, data; search's weight-training fields        the shared weights-only warm-up
              (``WARMUP_FIELDS``): not the loss, theta, the LUT   (``warmup.pt``: trials differing in
              or threads                                          their knobs share it; ``supernet.setup``)
search        space, data, lut, loss; search without threads      a search's ``checkpoint.pt``
                                                                  (``supernet.resume``)
child         space, data; child without threads                  a childnet's, a baseline's and the final
                                                                  model's checkpoint (``childnet.recipe``;
                                                                  the final model's over
                                                                  ``childnet.finalize.final_config``)
child_reuse   space, data, lut, child, measure (threads kept)     a trained childnet reused by a sweep's
                                                                  other trials (``sweep.reuse.child_key``,
                                                                  hashed with the ops)
sweep         every section; sweep without trials                 ``sweep.run --resume`` (only the number
                                                                  of trials may change: ``sweep.experiment``)
============  ==================================================  =========================================

Threads change how fast, not what: the checkpoints leave them out. ``child_reuse`` keeps
them: ``measure.threads`` changes what is measured, and ``child.threads`` is in keys
already written (``children/<key>.json`` of running sweeps), which must not change.
Not in the table: the measurement phase keys a model by its ops (a sweep's config cannot
change on resume) and a trained baseline is read back by its name and width.

The keys are compared with ``hwnas.diff.differences`` (a refusal names what changed) or
hashed, so each must stay as it is: a key of a recorded config (``dict``) and of the loaded
config (``ExperimentConfig``) are built alike, in the table's order; a section missing from
a recorded config is ``None`` (narrowed: empty). Torch-free apart from what
``hwnas.config`` imports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hwnas.config import ExperimentConfig, config_to_dict

__all__ = ["STAGES", "WARMUP_FIELDS", "Section", "stage_key"]


@dataclass(frozen=True)
class Section:
    """A config section a stage depends on: all of it, ``only`` these fields (in this order)
    or all ``without`` these."""

    name: str
    only: tuple[str, ...] | None = None
    without: tuple[str, ...] = ()

    def part(self, config: dict):
        """This section's part of ``config`` (a config mapping)."""
        value = config.get(self.name)
        if self.only is None and not self.without:
            return value
        value = value or {}
        if self.only is not None:
            return {k: value.get(k) for k in self.only}
        return {k: v for k, v in value.items() if k not in self.without}


# the supernet's weight training before theta trains (supernet.search.run_warmup)
WARMUP_FIELDS = (
    "warmup_epochs",
    "execution",
    "w_lr",
    "w_momentum",
    "w_weight_decay",
    "temperature",
    "proxy_width",
    "steps_per_epoch",
    "seed",
)
_NO_THREADS = ("threads",)
_ALL = tuple(f.name for f in dataclasses.fields(ExperimentConfig))

STAGES: dict[str, tuple[Section, ...]] = {
    "warmup": (Section("space"), Section("data"), Section("search", only=WARMUP_FIELDS)),
    "search": (
        Section("space"),
        Section("data"),
        Section("lut"),
        Section("loss"),
        Section("search", without=_NO_THREADS),
    ),
    "child": (Section("space"), Section("data"), Section("child", without=_NO_THREADS)),
    "child_reuse": tuple(Section(name) for name in ("space", "data", "lut", "child", "measure")),
    "sweep": tuple(Section(name, without=("trials",) if name == "sweep" else ()) for name in _ALL),
}


def stage_key(stage: str, config: ExperimentConfig | dict) -> dict:
    """The part of ``config`` (a loaded config, or a recorded one as a mapping) that
    ``stage``'s result depends on (``STAGES``): ``{section: its value or part}``."""
    data = config_to_dict(config) if isinstance(config, ExperimentConfig) else config
    return {section.name: section.part(data) for section in STAGES[stage]}
