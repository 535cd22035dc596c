import time

import pytest

from hwnas.config import ExperimentConfig, config_from_dict, config_to_dict, load_config, save_config
from hwnas.errors import UserError


def test_defaults_are_the_peer_defaults():
    cfg = load_config(None)
    assert (cfg.search.w_lr, cfg.search.w_momentum, cfg.search.w_weight_decay) == (0.1, 0.9, 1e-4)
    assert (cfg.search.theta_lr, cfg.search.theta_weight_decay) == (0.01, 5e-4)
    assert (cfg.search.temperature, cfg.search.temperature_decay) == (5.0, 0.045)
    assert (cfg.loss.alpha, cfg.loss.beta) == (0.2, 0.6)
    assert cfg.data.arch_fraction == 0.2


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("search:\n  epochs: 17\nloss:\n  alpha: 1\n")
    cfg = load_config(p, ["search.execution=single_path", "sweep.alpha=[0.5, 2]", "space.num_classes=10"])
    assert cfg.search.epochs == 17
    assert cfg.search.execution == "single_path"
    assert cfg.loss.alpha == 1.0
    assert isinstance(cfg.loss.alpha, float)
    assert cfg.sweep.alpha == (0.5, 2.0)
    assert cfg.space.num_classes == 10


def test_the_old_key_search_mode_loads_as_search_execution_with_one_deprecation_line(tmp_path, capsys):
    from hwnas.config import config_from_dict

    p = tmp_path / "old.yaml"
    p.write_text("search:\n  mode: naive\n  epochs: 30\n")
    assert load_config(p).search.execution == "naive"
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{p}: search.mode is deprecated, read as search.execution; use search.execution"]
    assert load_config(None, ["search.mode=single_path"]).search.execution == "single_path"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "override search.mode" in err[0]
    assert "use search.execution" in err[0]
    # an override under the new name replaces a value written under the old one
    assert load_config(p, ["search.execution=exact"]).search.execution == "exact"
    # a recorded config (resume) is read the same way, and the caller's dict is left as it was
    recorded = {"search": {"mode": "naive"}}
    assert config_from_dict(recorded, source="sweep.json: config").search.execution == "naive"
    assert recorded == {"search": {"mode": "naive"}}
    assert "sweep.json: config: search.mode" in capsys.readouterr().err
    both = tmp_path / "both.yaml"
    both.write_text("search:\n  mode: naive\n  execution: exact\n")
    with pytest.raises(UserError, match="both search.mode and search.execution"):
        load_config(both)


def test_the_old_key_sweep_mode_loads_as_sweep_dominant_with_one_deprecation_line(tmp_path, capsys):
    p = tmp_path / "x.yaml"
    p.write_text("sweep:\n  mode: energy\n  dominance: [0.1, 0.5]\n")
    cfg = load_config(p)
    assert (cfg.sweep.dominant, cfg.sweep.dominance) == ("energy", (0.1, 0.5))
    assert capsys.readouterr().err.strip().splitlines() == [
        f"{p}: sweep.mode is deprecated, read as sweep.dominant; use sweep.dominant"
    ]
    # an old experiment's sweep.json holds the resolved config under the old key: it resumes
    recorded = config_to_dict(ExperimentConfig())
    recorded["sweep"] = {("mode" if k == "dominant" else k): v for k, v in recorded["sweep"].items()}
    assert config_from_dict(recorded, source="sweep.json: config") == ExperimentConfig()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_sweep_mode_and_sweep_dominant_together_are_refused(tmp_path):
    both = tmp_path / "both.yaml"
    both.write_text("sweep:\n  mode: energy\n  dominant: latency\n")
    with pytest.raises(UserError, match="both sweep.mode and sweep.dominant") as err:
        load_config(both)
    assert "\n" not in str(err.value) and str(both) in str(err.value)


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(None, ["search.epochs=13", "data.root=/x"])
    save_config(cfg, tmp_path / "r.yaml")
    again = load_config(tmp_path / "r.yaml")
    assert again == cfg
    assert config_to_dict(again)["search"]["epochs"] == 13


@pytest.mark.parametrize(
    "text, needle",
    [
        ("search:\n  epochz: 3\n", "unknown key 'epochz'"),
        ("serch:\n  epochs: 3\n", "unknown key 'serch'"),
        ("search:\n  epochs: three\n", "search.epochs: expected an integer"),
        ("loss:\n  alpha: .nan\n", "loss.alpha: expected a finite number"),
        ("sweep:\n  alpha: [1]\n", "sweep.alpha: expected a list of 2 values"),
        ("- 1\n", "expected a mapping"),
        ("search: [\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(tmp_path, text, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(UserError) as err:
        load_config(p)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)
    assert str(p) in str(err.value) or "unknown key" not in needle


def test_bad_override():
    with pytest.raises(UserError, match="unknown key 'nope'"):
        load_config(None, ["search.nope=1"])
    with pytest.raises(UserError, match="expected section.key=value"):
        load_config(None, ["search.epochs"])


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_experiment_config_sections():
    names = set(ExperimentConfig.__dataclass_fields__)
    assert names == {
        "space",
        "data",
        "lut",
        "deploy",
        "loss",
        "search",
        "child",
        "measure",
        "sweep",
        "baselines",
        "final",
    }


@pytest.mark.parametrize(
    "override, match",
    [
        ("child.batch_size=0", "child.batch_size: expected an integer >= 1, got 0"),
        ("child.lr=-0.1", "child.lr: expected a number >= 0, got -0.1"),
        ("child.label_smoothing=1", "child.label_smoothing: expected a number in [0, 1), got 1.0"),
        ("data.train_size=0", "data.train_size: expected an integer >= 1"),
        ("measure.max_rel_iqr=0", "measure.max_rel_iqr: expected a number > 0"),
        ("sweep.gpus_per_trial=-1", "sweep.gpus_per_trial: expected a number >= 0"),
        ("sweep.strategy=greedy", "sweep.strategy 'greedy': expected one of dnas, random"),
        ("measure.meter=joules", "measure.meter 'joules': expected one of none, rapl, ina219"),
        ("sweep.trials=" + "9" * 25, "at most 2^63-1"),
        ("child.lr=[1,", "override child.lr: value '[1,' is not valid YAML"),
    ],
)
def test_every_section_is_checked_in_one_line(override, match):
    with pytest.raises(UserError) as err:
        load_config(None, [override])
    assert match in str(err.value)
    assert "\n" not in str(err.value)


def test_exponent_without_a_dot_is_a_number():
    assert load_config(None, ["child.lr=1e-3"]).child.lr == 0.001


def test_check_config_catches_a_changed_object():
    from hwnas.config import check_config

    cfg = load_config(None)
    check_config(cfg)
    cfg.measure.tries = 0
    with pytest.raises(UserError, match="measure.tries: expected an integer >= 1"):
        check_config(cfg)


def test_literal_presets_match_the_registries():
    import typing

    from hwnas.config_sections import DataConfig, MeasureConfig, SpaceConfig
    from hwnas.data import DATASETS
    from hwnas.meters import METERS
    from hwnas.space import PRESETS

    def args(cls, key):
        return set(typing.get_args(typing.get_type_hints(cls)[key]))

    assert args(SpaceConfig, "preset") == set(PRESETS)
    assert args(DataConfig, "dataset") == set(DATASETS)
    assert args(MeasureConfig, "meter") == set(METERS)


@pytest.mark.parametrize(
    "override, match",
    [
        ("sweep.budget.max_latency_ms=-1", "sweep.budget.max_latency_ms: expected a number > 0, got -1.0"),
        ("sweep.budget.max_latency_ms=0", "sweep.budget.max_latency_ms: expected a number > 0, got 0.0"),
        ("sweep.budget.max_energy_mj=.inf", "sweep.budget.max_energy_mj: expected a finite number, got inf"),
        ("sweep.budget.max_energy_mj=inf", "sweep.budget.max_energy_mj: expected a finite number, got 'inf'"),
        ("sweep.budget.max_latency_ms=nan", "sweep.budget.max_latency_ms: expected a finite number, got 'nan'"),
        ("sweep.budget.max_latency_ms=fast", "sweep.budget.max_latency_ms: expected a number, got 'fast'"),
        ("sweep.budget.max_ms=3", "override sweep.budget.max_ms: unknown key 'max_ms'"),
    ],
)
def test_bad_budget_is_one_line_naming_the_field(override, match):
    with pytest.raises(UserError) as err:
        load_config(None, [override])
    assert match in str(err.value)
    assert "\n" not in str(err.value)


def test_budget_defaults_to_no_limit_and_round_trips(tmp_path):
    cfg = load_config(None)
    assert (cfg.sweep.budget.max_latency_ms, cfg.sweep.budget.max_energy_mj) == (None, None)
    cfg = load_config(None, ["sweep.budget.max_latency_ms=5", "sweep.budget.max_energy_mj=1e-1"])
    assert (cfg.sweep.budget.max_latency_ms, cfg.sweep.budget.max_energy_mj) == (5.0, 0.1)
    save_config(cfg, tmp_path / "r.yaml")
    assert load_config(tmp_path / "r.yaml") == cfg
    assert config_to_dict(cfg)["sweep"]["budget"] == {"max_latency_ms": 5.0, "max_energy_mj": 0.1}
    p = tmp_path / "c.yaml"
    p.write_text("sweep:\n  budget:\n")  # an empty section: no limit; an override still fills it
    assert load_config(p, ["sweep.budget.max_energy_mj=2"]).sweep.budget.max_energy_mj == 2.0


def test_check_config_checks_the_nested_budget():
    from hwnas.config import check_config

    cfg = load_config(None)
    cfg.sweep.budget.max_latency_ms = -3.0
    with pytest.raises(UserError, match=r"sweep.budget.max_latency_ms: expected a number > 0, got -3.0"):
        check_config(cfg)


def test_rules_between_fields_are_checked_at_load():
    with pytest.raises(
        UserError, match=r"^config: search: need warmup_epochs <= epochs, got warmup_epochs=10, epochs=3$"
    ):
        load_config(None, ["search.epochs=3"])
    with pytest.raises(UserError, match=r"space.num_classes=5 but fashion-mnist has more classes"):
        load_config(None, ["space.num_classes=5"])
    assert load_config(None, ["space.num_classes=12"]).search_space().num_classes == 12
    assert load_config(None, ["data.dataset=cifar100"]).search_space(0.5).num_classes == 100


def _alias_bomb(levels: int = 9) -> str:
    """A billion laughs: 10^levels zeros spelled in a few hundred bytes of YAML aliases."""
    lines = ["loss:", "  alpha:", "    - &l0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    for i in range(1, levels + 1):
        lines.append(f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_fast_in_one_line(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_alias_bomb())
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        load_config(p)
    assert time.perf_counter() - started < 2
    assert str(err.value).startswith(f"{p}: YAML alias *l0 at line 4: ")
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=r"^override loss.alpha: YAML alias \*a at line 1: "):
        load_config(None, ["loss.alpha=[&a [1, 2], *a]"])


def test_a_huge_value_is_named_by_a_bounded_prefix(tmp_path):
    bomb = [0]
    for _ in range(9):
        bomb = [bomb] * 10  # 10^9 leaves, shared: its full repr would take gigabytes
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        config_from_dict({"loss": {"alpha": bomb}})
    assert time.perf_counter() - started < 2
    assert str(err.value).startswith("config: loss.alpha: expected a number, got [[[[")
    assert len(str(err.value)) < 200
