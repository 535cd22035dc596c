"""The table of what each stage depends on (``hwnas.stages``): every key it builds is the one
the hand-written functions it replaced built (so checkpoints, warm-up files and reuse keys
written before still match), threads never change a checkpoint's key, and an included
field does."""

import dataclasses
import hashlib
import json

import pytest

from hwnas.config import ExperimentConfig, config_to_dict, load_config
from hwnas.diff import differences
from hwnas.stages import STAGES, stage_key

# A config with a non-default value in every section a key reads, threads set everywhere.
VARIED = [
    "space.width=0.5",
    "space.num_classes=10",
    "data.train_size=300",
    "data.seed=3",
    "lut.energy=false",
    "loss.alpha=0.7",
    "search.epochs=6",
    "search.warmup_epochs=2",
    "search.proxy_width=0.25",
    "search.steps_per_epoch=4",
    "search.threads=3",
    "search.arch_seed=9",
    "child.lr=0.05",
    "child.threads=2",
    "measure.threads=2",
    "measure.repeats=7",
    "sweep.trials=5",
    "final.epochs=3",
]
CONFIGS = {"default": [], "varied": VARIED}


# The rules as they were written by hand before the table (commit 16d2010), kept verbatim
# as the reference the table must reproduce.
def _old_warmup_key(cfg: ExperimentConfig) -> dict:  # supernet.setup.warmup_key (its field list on one line)
    s = cfg.search
    fields = "warmup_epochs execution w_lr w_momentum w_weight_decay temperature proxy_width steps_per_epoch seed"
    return {
        "space": config_to_dict(cfg.space),
        "data": config_to_dict(cfg.data),
        "search": {k: getattr(s, k) for k in fields.split()},
    }


def _old_search_key(config: dict) -> dict:  # supernet.resume._resume_key
    key = {k: config.get(k) for k in ("space", "data", "lut", "loss", "search")}
    key["search"] = {k: v for k, v in (key["search"] or {}).items() if k != "threads"}
    return key


def _old_child_key(config: dict) -> dict:  # childnet.recipe._resume_key
    child = {k: v for k, v in config["child"].items() if k != "threads"}
    return {"space": config["space"], "data": config["data"], "child": child}


def _old_reuse_key(cfg: ExperimentConfig, ops) -> str:  # sweep.reuse.child_key
    d = config_to_dict(cfg)
    recipe = {k: d[k] for k in ("space", "data", "lut", "child", "measure")}
    recipe["ops"] = list(ops)
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]


def _old_config_diff(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:  # sweep.experiment
    return differences(config_to_dict(old), config_to_dict(new), ignore={"sweep.trials"})


def _same(new, old, what: str) -> None:
    """Equal, and equal as bytes too (JSON in the order built: what a file or hash holds)."""
    assert new == old, f"{what}: the table's key differs from the hand-written one"
    assert json.dumps(new) == json.dumps(old), f"{what}: same values but another order"


@pytest.mark.parametrize("name", CONFIGS)
def test_every_key_is_the_one_the_hand_written_rules_built(name):
    cfg = load_config(None, CONFIGS[name])
    recorded = config_to_dict(cfg)  # a checkpoint's config, as saved
    _same(stage_key("warmup", cfg), _old_warmup_key(cfg), "warmup")
    for stage, old in (("search", _old_search_key), ("child", _old_child_key)):
        _same(stage_key(stage, recorded), old(recorded), stage)
        _same(stage_key(stage, cfg), old(recorded), f"{stage} of the loaded config")


@pytest.mark.parametrize("name", CONFIGS)
def test_the_final_models_key_is_the_childnets_over_the_final_recipe(name):
    from childnet.finalize import final_config

    final = final_config(load_config(None, CONFIGS[name]))
    _same(stage_key("child", final), _old_child_key(config_to_dict(final)), "final")


@pytest.mark.parametrize("name", CONFIGS)
def test_the_reuse_key_and_the_sweeps_resume_check_are_unchanged(name):
    from sweep.experiment import config_diff
    from sweep.reuse import child_key

    cfg = load_config(None, CONFIGS[name])
    ops = ["k3_e1", "skip", "k5_e6"]
    assert child_key(cfg, ops) == _old_reuse_key(cfg, ops), "a running sweep's children/<key>.json would be lost"
    other = load_config(None, [*CONFIGS[name], "sweep.trials=50", "loss.beta=0.9", "sweep.seed=4"])
    assert config_diff(cfg, other) == _old_config_diff(cfg, other)
    assert config_diff(cfg, other) == [f"loss.beta: {cfg.loss.beta} -> 0.9", f"sweep.seed: {cfg.sweep.seed} -> 4"]


# child_key(ExperimentConfig(), ["k3_e1", "skip"]) at commit 16d2010
PINNED_REUSE_KEY = "02badf6b1dd3fc4c58ed"


def test_the_reuse_key_of_the_default_config_is_pinned():
    from sweep.reuse import child_key

    # a change renames every children/<key>.json of a sweep (a resumed sweep then trains
    # again what it had reused)
    assert child_key(ExperimentConfig(), ["k3_e1", "skip"]) == PINNED_REUSE_KEY, (
        "the reuse key of the default config changed: a config field was added, removed or "
        "changed its default, or the key's rule changed"
    )


def test_a_section_missing_from_a_recorded_config_is_none_or_empty_as_before():
    recorded = config_to_dict(ExperimentConfig())
    del recorded["lut"], recorded["search"]  # e.g. a config recorded before a section existed
    assert stage_key("search", recorded) == _old_search_key(recorded)
    assert (stage_key("search", recorded)["lut"], stage_key("search", recorded)["search"]) == (None, {})


# (stage, a field the stage ignores, a field it depends on); threads never change a checkpoint
CHANGES = [
    ("warmup", "search.threads=4", "search.w_lr=0.2"),
    ("warmup", "loss.alpha=0.9", "data.seed=5"),  # not the loss: trials with other knobs share it
    ("warmup", "search.theta_lr=0.5", "search.warmup_epochs=3"),
    ("search", "search.threads=4", "search.theta_lr=0.5"),
    ("search", "child.lr=0.01", "lut.energy=false"),
    ("child", "child.threads=4", "child.lr=0.01"),
    ("child", "search.seed=5", "space.width=0.5"),
    ("child_reuse", "search.seed=5", "measure.threads=2"),  # measured with another thread count
    ("sweep", "sweep.trials=99", "sweep.seed=5"),
]


@pytest.mark.parametrize("stage, ignored, included", CHANGES)
def test_an_excluded_field_leaves_the_key_and_an_included_one_changes_it(stage, ignored, included):
    key = stage_key(stage, ExperimentConfig())
    assert stage_key(stage, load_config(None, [ignored])) == key, f"{stage}'s key changed with {ignored}"
    assert stage_key(stage, load_config(None, [included])) != key, f"{stage}'s key ignored {included}"


def test_final_threads_leave_the_final_models_key():
    from childnet.finalize import final_config

    key = stage_key("child", final_config(ExperimentConfig()))
    assert stage_key("child", final_config(load_config(None, ["final.threads=3"]))) == key
    assert stage_key("child", final_config(load_config(None, ["final.epochs=4"]))) != key


def test_every_stage_names_existing_sections_and_fields():
    cfg = ExperimentConfig()
    fields = {f.name: {g.name for g in dataclasses.fields(getattr(cfg, f.name))} for f in dataclasses.fields(cfg)}
    for stage, sections in STAGES.items():
        for section in sections:
            assert section.name in fields, f"{stage}: no config section {section.name}"
            named = set(section.only or ()) | set(section.without)
            assert named <= fields[section.name], f"{stage}: {section.name} has no {named - fields[section.name]}"
