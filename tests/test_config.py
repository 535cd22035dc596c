import pytest

from hwnas.config import ExperimentConfig, config_to_dict, load_config, save_config
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
    p.write_text("search:\n  epochs: 7\nloss:\n  alpha: 1\n")
    cfg = load_config(p, ["search.mode=single_path", "sweep.alpha=[0.5, 2]", "space.num_classes=10"])
    assert cfg.search.epochs == 7 and cfg.search.mode == "single_path"
    assert cfg.loss.alpha == 1.0 and isinstance(cfg.loss.alpha, float)
    assert cfg.sweep.alpha == (0.5, 2.0)
    assert cfg.space.num_classes == 10


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(None, ["search.epochs=3", "data.root=/x"])
    save_config(cfg, tmp_path / "r.yaml")
    again = load_config(tmp_path / "r.yaml")
    assert again == cfg
    assert config_to_dict(again)["search"]["epochs"] == 3


@pytest.mark.parametrize("text, needle", [
    ("search:\n  epochz: 3\n", "unknown key 'epochz'"),
    ("serch:\n  epochs: 3\n", "unknown key 'serch'"),
    ("search:\n  epochs: three\n", "search.epochs: expected an integer"),
    ("loss:\n  alpha: .nan\n", "loss.alpha: expected a finite number"),
    ("sweep:\n  alpha: [1]\n", "sweep.alpha: expected a list of 2 values"),
    ("- 1\n", "expected a mapping"),
    ("search: [\n", "not valid YAML"),
])
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
    assert names == {"space", "data", "lut", "loss", "search", "child", "measure", "sweep"}
