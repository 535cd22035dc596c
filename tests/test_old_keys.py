"""An experiment written before the key renames (``hwnas.keys``) still reports and resumes:
the same report as under the new names, its record read with exactly one deprecation line,
and its trials still reporting the metric names its Optuna study knows."""

import json
from pathlib import Path

import pytest

from hwnas import keys
from hwnas.config import ExperimentConfig, config_to_dict
from pareto.report import build_report
from testdata import write_synthetic_experiment

DEPRECATED = "(renamed; old files still load)"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a process that has printed no deprecation line yet."""
    monkeypatch.setattr(keys, "_TOLD", set())


def _old_names(kind: str) -> dict:
    return {new: old for old, new in keys.RENAMED[kind].items()}


def _old(record, kind: str):
    """``record`` with the keys of ``kind`` under their names before the rename."""
    old_of = _old_names(kind)
    return {old_of.get(k, k): v for k, v in record.items()}


def _without(record: dict, key: str) -> dict:
    return {k: v for k, v in record.items() if k != key}


def _rewrite(path: Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _write_old(root: Path) -> None:
    """Turn a synthetic experiment into one written before the renames."""
    names = _old_names("metric_name")

    def old_record(r):
        return dict(
            r, metrics=[names.get(m, m) for m in r["metrics"]], knobs={"start": _old(r["knobs"]["start"], "start")}
        )

    _rewrite(root / "sweep.json", old_record)
    # baselines.json rows kept their measurement's keys beside their own before ``measured`` was nested
    _rewrite(root / "baselines.json", lambda rows: [{**_without(r, "measured"), **r["measured"]} for r in rows])
    for trial in root.glob("trial_*"):
        if (trial / "search" / "arch.json").is_file():
            _rewrite(trial / "search" / "arch.json", lambda a: _old(a, "arch"))
        if (trial / "child" / "metrics.json").is_file():
            _rewrite(
                trial / "child" / "metrics.json",
                lambda m: dict(
                    m,
                    lut=_old(m["lut"], "lut_estimate"),
                    lut_estimates=[_old(e, "lut_estimate") for e in m["lut_estimates"]],
                ),
            )
        if (trial / "result.json").is_file():
            rows = [_old(json.loads(line), "result_row") for line in (trial / "result.json").read_text().splitlines()]
            (trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _report_text(root: Path, out: Path) -> str:
    return json.dumps(build_report(str(root), str(out)), sort_keys=True).replace(str(root), "EXPERIMENT")


def test_an_old_experiment_reports_as_it_would_under_the_new_names(tmp_path, capsys):
    new, old = tmp_path / "new" / "exp", tmp_path / "old" / "exp"
    for root in (new, old):
        write_synthetic_experiment(str(root), trials=8, failed=1, running=2)
        _rewrite(root / "sweep.json", lambda r: dict(r, knobs={"start": {"lat0_ms": 1.2, "ener0_mj": 0.3, "ce0": 0.5}}))
    _write_old(old)
    assert '"latency_ms"' in (next(old.glob("trial_*/search/arch.json"))).read_text()
    assert '"measured"' not in (old / "baselines.json").read_text()
    expected = _report_text(new, tmp_path / "new" / "report")
    assert capsys.readouterr().err.count(DEPRECATED) == 0, "new files read as old ones"
    assert _report_text(old, tmp_path / "old" / "report") == expected
    lines = [line for line in capsys.readouterr().err.splitlines() if DEPRECATED in line]
    assert len(lines) == 1, lines
    assert "sweep.json: key 'latency_ms' is read as 'lat0_ms'" in lines[0], lines[0]


def test_an_old_sweep_record_resumes_with_one_deprecation_line(tmp_path, capsys):
    from sweep.experiment import read_record

    old = {
        "config": config_to_dict(ExperimentConfig()),
        "trials": 4,
        "strategy": "dnas",
        "mode": "any",
        "objective": "multi",
        "metrics": ["test_acc", "latency_ms", "energy_mj"],
        "directions": ["max", "min", "min"],
        "luts": ["builtin:rpi4-hwnasbench"],
        "lut": {"spec": "builtin:rpi4-hwnasbench", "path": "builtin:rpi4-hwnasbench"},
        "knobs": {"scale": "relative", "start": {"latency_ms": 1.2, "energy_mj": 0.3, "ce": 0.5}},
        "runs": [],
    }
    (tmp_path / "sweep.json").write_text(json.dumps(old))
    record, _ = read_record(tmp_path)
    assert record["knobs"]["start"] == {"lat0_ms": 1.2, "ener0_mj": 0.3, "ce0": 0.5}
    assert record["metrics"] == old["metrics"], "the study's metric names must stay as the study has them"
    assert record.get("dominant") == "any", "the old key mode is not read as dominant"
    assert "mode" not in record
    aliases = keys.metric_aliases(record["metrics"], str(tmp_path / "sweep.json"))
    assert aliases == {"latency_ms": "lut_latency_ms", "energy_mj": "lut_energy_mj"}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and DEPRECATED in err[0], err


def test_a_resumed_old_trial_reports_its_studys_metric_names(tmp_path, monkeypatch):
    from sweep import trial

    reported = []
    monkeypatch.setattr(trial.tune, "report", lambda row, checkpoint=None: reported.append(row))
    monkeypatch.setattr(trial.tune.Checkpoint, "from_directory", staticmethod(lambda path: None))
    old_final = {"phase": "done", "epoch": 3, "test_acc": 0.8, "latency_ms": 2.5, "energy_mj": 0.4}
    (tmp_path / "trial_state.json").write_text(json.dumps({"phase": "done", "final": old_final}))
    state = trial.TrialState.load(tmp_path / "trial_state.json")
    assert state.final["lut_latency_ms"] == 2.5
    reporter = trial._Reporter(tmp_path, state, {"latency_ms": "lut_latency_ms", "energy_mj": "lut_energy_mj"})
    reporter.report(state.final)
    row = reported[-1]
    assert (row["latency_ms"], row["lut_latency_ms"]) == (2.5, 2.5), "Ray's restored searcher reads latency_ms"
    assert (row["energy_mj"], row["lut_energy_mj"]) == (0.4, 0.4)
    trial._Reporter(tmp_path, state).report({"lut_latency_ms": 1.0})
    assert "latency_ms" not in reported[-1], "a new sweep reports only the new names"
