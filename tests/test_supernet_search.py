"""The search loop end to end on real Fashion-MNIST images with in-memory costs: the
knobs steer the found architecture, resume and shared warm-ups are exact, bad input
fails with one line."""

import json

import pytest
import torch

from hwnas.config import load_config
from hwnas.errors import UserError
from lut.cost import CostTensors
from supernet.search import main, run_search, run_warmup

pytestmark = pytest.mark.slow

SMALL = [
    "space.preset=fbnet-cpu",
    "space.width=0.5",
    "data.train_size=160",
    "data.test_size=32",
    "data.batch_size=32",
    "search.epochs=4",
    "search.warmup_epochs=1",
    "search.steps_per_epoch=2",
    "search.theta_lr=0.1",
    "search.threads=1",
    "loss.alpha=0",
    "loss.gamma=0",
]
CHEAP_LAT, CHEAP_ENER = 8, 0  # "skip" is cheap in latency, "k3_e1" in energy


def config(*overrides):
    return load_config(None, SMALL + list(overrides))


@pytest.fixture(scope="module")
def cost(space):
    lat = torch.full((space.num_layers, len(space.ops)), 1.0)
    lat[:, CHEAP_LAT] = 0.01
    ener = torch.full((space.num_layers, len(space.ops)), 2.0)
    ener[:, CHEAP_ENER] = 0.02
    return CostTensors(space.ops, 1.0, lat, 0.5, ener, "model:test")


def _searched(tmp_path_factory, cost, *overrides) -> tuple:
    """``(folder, result, the epochs' metrics)`` of one search with ``overrides``."""
    folder, seen = tmp_path_factory.mktemp("search"), []
    return folder, run_search(config(*overrides), folder, cost=cost, on_epoch=seen.append), seen


# Searches several tests compare against, run once per module (a search is deterministic: the
# tests below that resume or warm-start check exactly that) and only read afterwards.
@pytest.fixture(scope="module")
def free(tmp_path_factory, cost):
    """The search without cost pressure (alpha = gamma = 0)."""
    return _searched(tmp_path_factory, cost)


@pytest.fixture(scope="module")
def alpha1(tmp_path_factory, cost):
    """The search with alpha = 1, run whole."""
    return _searched(tmp_path_factory, cost, "loss.alpha=1")


def test_writes_arch_theta_config_checkpoint_and_events(free, space):
    tmp_path, result, seen = free
    arch = json.loads((tmp_path / "arch.json").read_text())
    assert len(arch["ops"]) == space.num_layers
    assert set(arch["ops"]) <= set(space.ops)
    assert [k for k, v in arch.items() if isinstance(v, list)] == ["ops"]
    assert arch["space"]["layers_hash"] == space.layers_hash()
    assert arch["space"]["width"] == 0.5
    assert arch["energy_source"] == "model:test"
    assert arch["lut_energy_mj"] > 0
    theta = json.loads((tmp_path / "theta.json").read_text())
    assert len(theta) == 4
    assert len(theta[0]) == space.num_layers
    assert len(theta[0][0]) == len(space.ops)
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "checkpoint.pt").is_file()
    assert list(tmp_path.glob("events.out.tfevents.*"))
    assert [m["epoch"] for m in seen] == [1, 2, 3, 4]
    for key in (
        "epochs",
        "phase",
        "temperature",
        "train_ce",
        "val_acc",
        "expected_latency_ms",
        "expected_energy_mj",
        "arch_latency_ms",
        "arch_energy_mj",
        "seconds",
    ):
        assert key in seen[-1]
    assert seen[0]["phase"] == "search"
    assert seen[-1]["temperature"] < seen[0]["temperature"]
    assert result["ops"] == arch["ops"]
    assert result["arch_latency_ms"] == pytest.approx(arch["lut_latency_ms"])
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind
    progress = json.loads((tmp_path / "progress.json").read_text())  # the last epoch, for live views
    assert progress["metrics"] == json.loads(json.dumps(seen[-1]))
    assert progress["argmax_ops"] == arch["ops"]
    assert progress["op_names"] == list(space.ops)
    assert len(progress["probabilities"]) == space.num_layers
    assert all(abs(sum(row) - 1) < 1e-5 for row in progress["probabilities"])


def test_large_alpha_finds_a_faster_architecture(tmp_path, cost, free):
    _, unpressed, _ = free
    pressed = run_search(config("loss.alpha=20", "loss.beta=1"), tmp_path / "a20", cost=cost)
    assert pressed["arch_latency_ms"] < unpressed["arch_latency_ms"]
    assert pressed["ops"].count("skip") > unpressed["ops"].count("skip")


def test_large_gamma_finds_a_frugal_architecture(tmp_path, cost, free):
    _, unpressed, _ = free
    pressed = run_search(config("loss.gamma=20", "loss.delta=1"), tmp_path / "g20", cost=cost)
    assert pressed["arch_energy_mj"] < unpressed["arch_energy_mj"]


def test_resumed_search_ends_with_the_same_theta(tmp_path, cost, alpha1):
    cfg = config("loss.alpha=1")

    def crash_after_two(m):
        if m["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "cut", cost=cost, on_epoch=crash_after_two)
    assert len(json.loads((tmp_path / "cut" / "theta.json").read_text())) == 2
    resumed = []
    run_search(cfg, tmp_path / "cut", cost=cost, resume=True, on_epoch=resumed.append)
    assert [m["epoch"] for m in resumed] == [3, 4]
    whole = json.loads((alpha1[0] / "theta.json").read_text())
    cut = json.loads((tmp_path / "cut" / "theta.json").read_text())
    assert cut == whole


def test_shared_warmup_gives_the_same_search(tmp_path, cost, alpha1):
    cfg = config("loss.alpha=1")
    warm = run_warmup(cfg, tmp_path / "shared" / "warmup.pt", cost=cost)
    assert warm.is_file()
    epochs = []
    run_search(cfg, tmp_path / "from_warm", cost=cost, warmup_path=warm, on_epoch=epochs.append)
    assert [m["epoch"] for m in epochs] == [2, 3, 4]  # the warm-up epoch was not rerun
    plain = json.loads((alpha1[0] / "theta.json").read_text())  # the search without a shared warm-up
    assert json.loads((tmp_path / "from_warm" / "theta.json").read_text()) == plain
    # the warm-up does not depend on the loss knobs, but does on the data
    run_search(config("loss.alpha=3"), tmp_path / "other_knobs", cost=cost, warmup_path=warm)
    with pytest.raises(UserError, match=r"warm-up made with another config: data.train_size: \d+ -> 128$"):
        run_search(config("data.train_size=128"), tmp_path / "other_data", cost=cost, warmup_path=warm)


def test_corrupt_checkpoint_is_one_clear_error(tmp_path, cost):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="corrupt or unreadable search checkpoint"):
        run_search(config(), tmp_path, cost=cost, resume=True)


def test_resume_with_another_config_is_refused(tmp_path, cost):
    run_search(config("search.epochs=2"), tmp_path, cost=cost)
    with pytest.raises(UserError, match=r"cannot resume, the config differs: loss.alpha: 0.0 -> 2.0$"):
        run_search(config("search.epochs=2", "loss.alpha=2"), tmp_path, cost=cost, resume=True)


def test_cost_tensors_of_another_space_are_refused(tmp_path, cost):
    other = CostTensors(cost.op_names, 1.0, cost.latency_ms[:-1])
    with pytest.raises(UserError, match="the LUT is for another space"):
        run_search(config(), tmp_path, cost=other)


def test_lut_file_for_another_space_is_refused(tmp_path):
    # the builtin Raspberry Pi 4 LUT describes fbnet-cifar, not fbnet-cpu
    with pytest.raises(UserError, match="made for space fbnet-cifar"):
        run_search(config("lut.path=builtin:rpi4-hwnasbench"), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written on bad input


def test_gamma_with_a_lut_without_energy_is_refused(tmp_path):
    with pytest.raises(UserError, match="no energy data"):
        run_search(
            load_config(
                None, ["space.preset=fbnet-cifar", "data.train_size=64", "loss.gamma=0.5", "deploy.runtime=pytorch"]
            ),
            tmp_path,
        )


def test_missing_dataset_is_one_clear_error(tmp_path, cost):
    with pytest.raises(UserError, match="cifar10 not found"):
        run_search(config("data.dataset=cifar10", f"data.root={tmp_path / 'nothing'}"), tmp_path / "s", cost=cost)


def test_diverging_search_names_the_epoch(tmp_path, cost):
    with pytest.raises(UserError, match=r"search diverged: .* in epoch \d"):
        run_search(config("search.w_lr=1.0e+30", "search.warmup_epochs=0"), tmp_path, cost=cost)


def test_cli_rejects_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("search:\n  epochs: 2\n  speed: 11\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(cfg), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert "unknown key 'speed'" in err
    assert "\n" not in err
    with pytest.raises(SystemExit):
        main(["--config", str(cfg), "--out", str(tmp_path / "out"), "search.nope=1"])
    assert "unknown key 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "overrides",
    [
        ("search.execution=single_path",),
        ("search.execution=naive",),
        ("loss.form=fbnet", "loss.alpha=0.2", "loss.beta=0.6"),
    ],
)
def test_other_executions_and_the_fbnet_form_search_too(tmp_path, cost, space, overrides):
    seen = []
    result = run_search(config("search.epochs=2", *overrides), tmp_path, cost=cost, on_epoch=seen.append)
    assert len(result["ops"]) == space.num_layers
    assert seen[-1]["loss"] is not None
    assert seen[-1]["loss"] == seen[-1]["loss"]  # finite, not NaN
    theta = json.loads((tmp_path / "theta.json").read_text())
    assert theta[-1] != theta[0]  # theta moved in the search epoch


def test_a_resume_key_recorded_before_search_mode_was_renamed_still_matches(capsys):
    from hwnas.config import rename_old_keys
    from hwnas.diff import differences
    from hwnas.stages import stage_key

    key = stage_key("warmup", load_config(None, ["search.execution=naive"]))
    old = {**key, "search": {("mode" if k == "execution" else k): v for k, v in key["search"].items()}}
    assert differences(old, key)  # as recorded, the old key differs
    assert differences(rename_old_keys(old), key) == []
    assert "mode" in old["search"]  # read under the new name
    assert capsys.readouterr().err == ""  # comparing records is silent
