"""sweep.run refuses bad input with one clear line (exit 2) and writes nothing."""

from functools import partial

import pytest
from one_line import refused

from hwnas.config import ExperimentConfig, config_to_dict
from hwnas.errors import UserError
from sweep.device import check_device
from sweep.experiment import config_diff, write_json
from sweep.run import main

_fails = partial(refused, main)  # sweep.run's one-line refusal


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sweep: {trails: 3}\n")
    _fails(["--config", str(cfg), "--storage", str(tmp_path / "x")], capsys, "unknown key 'trails'")
    assert not (tmp_path / "x").exists()


def test_negative_knob_range(tmp_path, capsys):
    _fails(["--set", "sweep.gamma=[-1, 2]", "--storage", str(tmp_path)], capsys, "must not be negative")
    assert list(tmp_path.iterdir()) == []


def test_old_and_new_name_of_the_dominant_term_together_are_refused(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sweep: {mode: energy, dominant: latency}\n")
    refused(
        main, ["--config", str(cfg), "--storage", str(tmp_path / "x")], capsys, "both sweep.mode and sweep.dominant"
    )
    refused(
        main, ["--mode", "energy", "--dominant", "any", "--storage", str(tmp_path / "x")], capsys, "both --mode and"
    )
    assert not (tmp_path / "x").exists()


def test_resume_of_missing_experiment(tmp_path, capsys):
    _fails(["--resume", "--storage", str(tmp_path), "--name", "nope"], capsys, "no sweep experiment at")


def test_resume_with_a_different_config(tmp_path, capsys):
    exp = tmp_path / "e"
    cfg = ExperimentConfig()
    write_json(exp / "sweep.json", {"config": config_to_dict(cfg), "trials": 30})
    (exp / "tuner.pkl").write_bytes(b"")
    refused(
        main,
        ["--resume", "--storage", str(tmp_path), "--name", "e", "--dominant", "energy"],
        capsys,
        "sweep.dominant: 'any' -> 'energy'",
    )
    refused(
        main, ["--resume", "--storage", str(tmp_path), "--name", "e", "--trials", "10"], capsys, "fewer than the 30"
    )
    # --mode, the old name of --dominant, still works (one deprecation line before the error)
    with pytest.raises(SystemExit):
        main(["--resume", "--storage", str(tmp_path), "--name", "e", "--mode", "energy"])
    assert capsys.readouterr().err.strip().splitlines() == [
        "--mode is deprecated, read as --dominant; use --dominant",
        "error: --resume: config differs from the experiment's (sweep.json): sweep.dominant: 'any' -> 'energy'",
    ]


def test_new_sweep_over_an_existing_experiment(tmp_path, capsys):
    write_json(tmp_path / "default" / "sweep.json", {})
    _fails(["--storage", str(tmp_path)], capsys, "exists; continue it with --resume")


def test_unreachable_address(tmp_path, capsys):
    refused(
        main, ["--address", "127.0.0.1:1", "--storage", str(tmp_path)], capsys, "cannot connect to Ray at 127.0.0.1:1"
    )
    assert list(tmp_path.iterdir()) == []


def test_device_resource_no_node_has():
    resources = {"CPU": 2.0, "memory": 1e9, "node:10.0.0.1": 1.0, "jetson": 1.0}
    with pytest.raises(UserError, match=r"no node in the Ray cluster has resource 'rpi4' \(custom resources: jetson\)"):
        check_device("rpi4", resources)
    check_device("jetson", resources)
    check_device("local", {})


def test_a_devices_lut_is_profiled_on_its_resource_named_alone(tmp_path, monkeypatch, capsys):
    from hwnas.config import load_config
    from lut import load_lut
    from lut import profile as lut_profile
    from sweep.startup import prepare_lut

    asked = []

    def profiled(space, **kwargs):
        asked.append(kwargs["device"])
        return load_lut("builtin:rpi4-hwnasbench")

    monkeypatch.setattr(lut_profile, "profile_lut", profiled)
    cfg = load_config(None, ["lut.path=auto", "measure.device=rpi4", "space.num_classes=10"])
    _, path, entry = prepare_lut(cfg, tmp_path)
    assert asked == ["rpi4"], "profiled on the resource measure.device names, spelled the same"
    assert entry == {"spec": "auto", "path": path, "source": "profiled on device rpi4"}
    assert capsys.readouterr().err == "", "no deprecation line: the sweep uses the current spelling"


def test_config_diff_ignores_only_the_number_of_trials():
    a = ExperimentConfig()
    b = ExperimentConfig()
    b.sweep.trials = 99
    assert config_diff(a, b) == []
    b.loss.beta = 0.9
    assert config_diff(a, b) == ["loss.beta: 0.6 -> 0.9"]


def test_relative_paths_become_absolute_for_trials(tmp_path):
    from sweep.experiment import absolute_paths

    cfg = config_to_dict(ExperimentConfig())
    cfg["data"]["root"], cfg["lut"]["path"] = "data", "luts/pi.json"
    out = absolute_paths(cfg, tmp_path)
    assert out["data"]["root"] == str(tmp_path / "data")
    assert out["lut"]["path"] == str(tmp_path / "luts" / "pi.json")
    assert cfg["data"]["root"] == "data"  # the input is not changed
    for spec in ("auto", "builtin:rpi4-hwnasbench", "/abs/lut.json"):
        cfg["lut"]["path"] = spec
        assert absolute_paths(cfg, tmp_path)["lut"]["path"] == spec


def test_a_trial_that_cannot_fit_on_the_driver_node_is_refused():
    from hwnas.config_sections import SweepConfig
    from sweep.tuner import check_trials_fit

    cpu_head = {"CPU": 2.0, "memory": 1e9, "node:10.77.0.10": 1.0}
    cfg = ExperimentConfig(sweep=SweepConfig(cpus_per_trial=1.0, gpus_per_trial=1.0))
    with pytest.raises(
        UserError,
        match=r"sweep.gpus_per_trial 1: this node \(10.77.0.10\), where the trials run, "
        r"has 0 GPU; lower it",
    ):
        check_trials_fit(cfg, "10.77.0.10", cpu_head)
    with pytest.raises(UserError, match=r"sweep.cpus_per_trial 4: .* has 2 CPUs"):
        check_trials_fit(ExperimentConfig(sweep=SweepConfig(cpus_per_trial=4.0)), "10.77.0.10", cpu_head)
    check_trials_fit(ExperimentConfig(sweep=SweepConfig(cpus_per_trial=2.0)), "10.77.0.10", cpu_head)
    check_trials_fit(cfg, "10.77.0.10", dict(cpu_head, GPU=1.0))


def _no_start(*args, **kwargs):
    raise AssertionError("got past the start checks: Ray and the LUT would start now")


@pytest.mark.parametrize("name", ["../outside", "/tmp/abs", "", ".hidden", "a/b", "..", ".", "runs", "x" * 65])
def test_a_name_that_is_not_a_plain_folder_name_is_refused(tmp_path, capsys, monkeypatch, name):
    monkeypatch.setattr("sweep.run.connect_and_check", _no_start)
    storage = tmp_path / "storage"
    storage.mkdir()
    err = _fails(["--storage", str(storage), "--name", name], capsys, f"--name {name[:80]!r}: expected letters")
    assert list(tmp_path.iterdir()) == [storage], err
    assert list(storage.iterdir()) == [], err


@pytest.mark.parametrize(
    "dataset, expected", [("fashion-mnist", "Fashion-MNIST not found (tried {root}"), ("cifar10", "cifar10 not found")]
)
def test_a_missing_dataset_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch, dataset, expected):
    monkeypatch.setattr("sweep.run.connect_and_check", _no_start)
    empty = tmp_path / "no-data"
    empty.mkdir()
    storage = tmp_path / "storage"
    argv = ["--storage", str(storage), "--name", "e", "--set", f"data.root={empty}", "--set", f"data.dataset={dataset}"]
    for _ in range(2):  # the same command again: the same line, never "exists; continue it with --resume"
        _fails(argv, capsys, expected.format(root=empty))
    assert not storage.exists()
    assert list(empty.iterdir()) == []


def test_printed_commands_are_shell_quoted(tmp_path, capsys):
    """A storage path with a space and a quote: each printed command splits back into its argv."""
    import argparse
    import shlex

    from sweep.run import _print_outcome

    storage = tmp_path / "my runs" / "it's here"
    args = argparse.Namespace(storage=str(storage), name="default")
    _print_outcome({"text": "sweep: ...", "unfinished": 1}, storage / "default", args)
    lines = {ln.split(":", 1)[0]: ln.split(":", 1)[1] for ln in capsys.readouterr().out.splitlines()}
    assert shlex.split(lines["continue"]) == [
        *("python", "-m", "sweep.run", "--resume", "--storage", str(storage), "--name", "default")
    ]
    experiment = str(storage / "default")
    assert shlex.split(lines["report"]) == [
        "python",
        "-m",
        "pareto.report",
        experiment,
        "--out",
        experiment + "/report",
    ]
    assert shlex.split(lines["results"].split("(", 1)[1].rstrip(")")) == ["tensorboard", "--logdir", experiment]


def test_a_moved_experiments_own_lut_is_read_where_it_is_now(tmp_path):
    """``lut.path: auto`` keeps the LUT in the experiment (lut.json); sweep.json named it where
    the sweep started. Renamed since, a resume reads the one in its folder."""
    from hwnas.config import load_config
    from lut import load_lut, save_lut
    from sweep.startup import _lut_of

    cfg = load_config(None, ["lut.path=auto", "space.num_classes=10", "deploy.runtime=pytorch"])
    experiment = tmp_path / "renamed"
    experiment.mkdir()
    lut = load_lut("builtin:rpi4-hwnasbench")
    save_lut(lut, experiment / "lut.json")
    entry = {"spec": "auto", "path": str(tmp_path / "gone" / "lut.json"), "source": "profiled on this host"}
    _, path, read = _lut_of(cfg, experiment, {"lut": entry})
    assert path == read["path"] == str(experiment / "lut.json")
    assert read == dict(entry, path=path)
