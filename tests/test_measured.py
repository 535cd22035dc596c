"""Each measured value is written once, where it is produced (``hwnas.measured``): the quiet
measurement phase writes ``measurements.json`` only, never a trial's ``child/metrics.json`` nor
``baselines.json``; the report and the web page join it and show what a filled-in experiment
shows; an experiment whose files an older phase filled in reads exactly as before."""

import json
import shutil
from pathlib import Path

import pytest

from hwnas import keys
from hwnas.config import ExperimentConfig
from hwnas.errors import UserError
from hwnas.layout import BASELINES, MEASUREMENTS, METRICS, RESULT, child_dir
from hwnas.measured import join_baseline, join_metrics, read_measurements
from pareto.experiment import read_experiment
from pareto.report import build_report
from sweep.experiment import read_baselines
from sweep.measurements import PENDING, measure_pending
from sweep.web.views import sweep_view
from testdata import write_synthetic_experiment

DEPRECATED = "(renamed; old files still load)"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a process that has printed no deprecation line yet."""
    monkeypatch.setattr(keys, "_TOLD", set())


def _finished(root: Path) -> list[Path]:
    return sorted(t for t in root.glob("trial_*") if (child_dir(t) / METRICS).is_file())


def _filled(root: Path) -> Path:
    """A synthetic experiment as an older phase left it: every measurement in the trials'
    metrics.json and in baselines.json, each deployed file on disk (the phase times them)."""
    write_synthetic_experiment(str(root), trials=10, failed=1, running=1)
    for trial in _finished(root):
        metrics = json.loads((child_dir(trial) / METRICS).read_text())
        metrics["measured"]["model_of"] = trial.name  # as the older phase wrote it
        (child_dir(trial) / METRICS).write_text(json.dumps(metrics))
        (child_dir(trial) / metrics["model"]).write_bytes(b"program of " + trial.name.encode())
    for row in json.loads((root / BASELINES).read_text()):
        (root / row["model"]).parent.mkdir(exist_ok=True)
        (root / row["model"]).write_bytes(b"program of " + row["name"].encode())
    return root


def _as_pending(root: Path) -> dict:
    """``root`` as a sweep on this host leaves it before its measurement phase: measured pending
    in metrics.json, baselines.json and the result rows; returns what the device would measure
    of each file (the filled-in values)."""
    device = {}
    for trial in _finished(root):
        path = child_dir(trial) / METRICS
        metrics = json.loads(path.read_text())
        measured = {k: v for k, v in metrics["measured"].items() if k != "model_of"}
        device[str(child_dir(root / trial.name) / metrics["model"])] = measured
        path.write_text(json.dumps(dict(metrics, measured=dict(PENDING))))
        rows = [json.loads(line) for line in (trial / RESULT).read_text().splitlines()]
        rows[-1].update(measured_latency_ms=None, measured_energy_mj=None, measured_device=None)
        (trial / RESULT).write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows = json.loads((root / BASELINES).read_text())
    for row in rows:
        device[str(root / row["model"])] = row["measured"]
        row["measured"] = dict(PENDING)
    (root / BASELINES).write_text(json.dumps(rows))
    assert len(device) == len(_finished(root)) + len(rows), "the synthetic trials must differ in ops"
    return device


class _Device:
    """Stands for childnet.measure.measure_files: each file's measurement as ``values`` says."""

    def __init__(self, values: dict):
        self.values, self.timed = values, []

    def __call__(self, paths, on_group):
        self.timed.extend(paths)
        on_group({i: dict(self.values[p]) for i, p in enumerate(paths)})


def _report_text(root: Path, out: Path) -> str:
    return json.dumps(build_report(str(root), str(out)), sort_keys=True).replace(str(root), "EXPERIMENT")


def _written(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in [*root.glob(f"*/child/{METRICS}"), root / BASELINES]}


def test_the_phase_writes_measurements_json_only_and_the_readers_join_it(tmp_path, capsys):
    filled = _filled(tmp_path / "filled" / "exp")
    pending = tmp_path / "pending" / "exp"
    shutil.copytree(filled, pending)
    device = _Device(_as_pending(pending))
    before = _written(pending)

    phase = measure_pending(ExperimentConfig(), pending, None, measure_fn=device)

    assert sorted(device.timed) == sorted(device.values), "each model file is timed once"
    assert (phase["timed"], phase["distinct"], phase["baselines"]) == (10, 8, 2)
    assert _written(pending) == before, "the phase rewrote a trial's metrics.json or baselines.json"
    entries = json.loads((pending / MEASUREMENTS).read_text())["models"]
    trial = _finished(pending)[0]
    ops = " ".join(json.loads((child_dir(trial) / METRICS).read_text())["ops"])
    assert entries[ops]["model_of"] == trial.name, "the entry names the trial whose file was timed"
    # the report: the same numbers as the filled-in experiment's, read without a deprecation line
    expected = _report_text(filled, tmp_path / "filled" / "report")
    assert _report_text(pending, tmp_path / "pending" / "report") == expected
    assert DEPRECATED not in capsys.readouterr().err
    # the web page's trials table shows each measured latency
    for storage in (filled.parent, pending.parent):
        shown = {t["trial"]: t["measured_latency_ms"] for t in sweep_view(storage, "exp", {})["trials"]}
        assert [shown[t.name] for t in _finished(pending)] == [
            device.values[str(child_dir(t) / json.loads((child_dir(t) / METRICS).read_text())["model"])]["latency_ms"]
            for t in _finished(pending)
        ], storage
    # a second phase (a resumed sweep): nothing waits, nothing is timed, nothing is written
    again = _Device(device.values)
    stamp = (pending / MEASUREMENTS).read_bytes()
    assert measure_pending(ExperimentConfig(), pending, None, measure_fn=again) == {
        **phase,
        "timed": 0,
        "distinct": 0,
        "baselines": 0,
    }
    assert again.timed == [] and (pending / MEASUREMENTS).read_bytes() == stamp


def test_an_experiment_the_old_phase_filled_in_reads_as_before(tmp_path):
    """metrics.json and baselines.json (flat measured keys) filled in, measurements.json
    without model_of: the report reads the files' own values, measurements.json is not needed."""
    root = _filled(tmp_path / "exp")
    rows = json.loads((root / BASELINES).read_text())
    flat = [{**{k: v for k, v in r.items() if k != "measured"}, **r["measured"]} for r in rows]
    (root / BASELINES).write_text(json.dumps(flat))
    (root / MEASUREMENTS).write_text(json.dumps({"reference": None, "protocol": {}, "models": {}}))
    exp = read_experiment(str(root))
    for trial in _finished(root):
        measured = json.loads((child_dir(trial) / METRICS).read_text())["measured"]
        row = exp.trials.set_index("trial_dir").loc[trial.name]
        assert row["measured_latency_ms"] == measured["latency_ms"], trial.name
    assert [b["measured"]["latency_ms"] for b in exp.baselines] == [r["measured"]["latency_ms"] for r in rows]
    (root / MEASUREMENTS).unlink()
    assert read_experiment(str(root)).trials.equals(exp.trials)


def test_an_old_pending_entry_without_model_of_names_the_timed_files_trial(tmp_path):
    """A phase of an older version recorded its entries without model_of and was stopped before
    it filled the trials in: the entry's file names the trial."""
    model = tmp_path / "trial_a" / "child" / "model.pte"
    entry = {"model": str(model), "measured": {"latency_ms": 2.5, "energy_source": "none"}}
    metrics = {"ops": ["k3_e1", "skip"], "measured": dict(PENDING)}
    joined = join_metrics(metrics, {"k3_e1 skip": entry})
    assert joined["measured"] == {"latency_ms": 2.5, "energy_source": "none", "model_of": "trial_a"}
    assert metrics["measured"] == PENDING, "the record as read was changed"
    assert join_metrics(metrics, {}) is metrics, "not measured yet: stays pending"
    other = {"ops": ["k5_e3", "skip"], "measured": dict(PENDING)}
    assert join_metrics(other, {"k3_e1 skip": entry})["measured"]["pending"] is True


def test_an_old_baselines_row_loads_with_one_deprecation_line_and_joins(tmp_path, capsys):
    """A row written before ``measured`` was nested, pending: read under the nested key and
    joined from measurements.json as a new row is."""
    old = [{"name": "resnet18", "test_acc": 0.8, "latency_ms": None, "energy_source": "none", "pending": True}]
    (tmp_path / BASELINES).write_text(json.dumps(old * 2))
    rows = read_baselines(tmp_path)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and DEPRECATED in err[0] and "'measured.latency_ms'" in err[0], err
    assert rows[0] == {
        "name": "resnet18",
        "test_acc": 0.8,
        "measured": {"latency_ms": None, "energy_source": "none", "pending": True},
    }
    entry = {"model": str(tmp_path / "baselines" / "resnet18.pte"), "measured": {"latency_ms": 7.0}}
    assert join_baseline(rows[0], {"baseline:resnet18": entry})["measured"] == {"latency_ms": 7.0}


def test_a_damaged_measurement_record_is_one_line_for_the_report_too(tmp_path):
    root = _filled(tmp_path / "exp")
    (root / MEASUREMENTS).write_text('{"models": {"k3_e1": {"model": 1}}}')
    with pytest.raises(UserError, match=rf"^measurement record {root / MEASUREMENTS}: entry 'k3_e1'.*--remeasure"):
        read_measurements(root)
    with pytest.raises(UserError, match="--remeasure.*--skip-unreadable"):
        read_experiment(str(root))
    skipped = read_experiment(str(root), skip_unreadable=True)
    assert any(MEASUREMENTS in p and p.endswith("ignored") for p in skipped.problems), skipped.problems
