"""The record contract between the writers (supernet, childnet, sweep) and the reader
(pareto): a real 2-trial smoke sweep's files match ``hwnas.records``, ``pareto.report``
reads them, and ``testdata`` (the report tests' data) writes the same layout."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hwnas.errors import UserError
from hwnas.measured import read_childnet
from hwnas.records import (
    ArchRecord,
    FinalMetricsRecord,
    MeasurementEntry,
    MeasurementsRecord,
    MetricsRecord,
    ResultRow,
    SweepRecord,
    check_record,
    result_rows,
)
from testdata import write_rows_experiment, write_synthetic_experiment

ROOT = Path(__file__).resolve().parents[1]


def _check_experiment(root: Path, finished_only: bool = False) -> int:
    """Check every record of an experiment directory; returns the number of finished trials."""
    check_record(json.loads((root / "sweep.json").read_text()), SweepRecord, "sweep.json")
    if (root / "measurements.json").is_file():
        state = json.loads((root / "measurements.json").read_text())
        check_record(state, MeasurementsRecord, "measurements.json")
        for key, entry in state["models"].items():
            check_record(entry, MeasurementEntry, f"measurements.json {key}")
    finished = 0
    for trial in sorted(root.glob("trial_*")):
        metrics = trial / "child" / "metrics.json"
        if not metrics.is_file():
            assert not finished_only, f"{trial.name}: not finished"
            continue
        check_record(json.loads((trial / "search" / "arch.json").read_text()), ArchRecord, f"{trial.name}/arch.json")
        check_record(json.loads(metrics.read_text()), MetricsRecord, f"{trial.name}/metrics.json")
        check_record(read_childnet(trial), MetricsRecord, f"{trial.name}/metrics.json, measurement joined")
        rows = result_rows(trial)
        assert rows[-1]["phase"] == "done", trial.name
        check_record(rows[-1], ResultRow, f"{trial.name}/result.json done row", extra=True)
        finished += 1
    return finished


@pytest.mark.slow
def test_a_real_sweep_matches_the_records_and_the_report_reads_it(tmp_path, folder_sweep):
    """The session's real sweep (tests/conftest.py ``folder_sweep``), read only."""
    run, experiment = folder_sweep.run, folder_sweep.experiment
    assert _check_experiment(experiment, finished_only=True) == 2
    assert (experiment / "measurements.json").is_file(), "timed on this host: the quiet phase's record"

    report = subprocess.run(
        [sys.executable, "-m", "pareto.report", str(experiment), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    out = json.loads((tmp_path / "r" / "report.json").read_text())
    assert out["counts"] == {"trials": 2, "finished": 2}
    # the final stage trained the recommended architecture again with the final recipe (1 epoch there)
    [final_dir] = (experiment / "final").iterdir()
    final = json.loads((final_dir / "metrics.json").read_text())
    check_record(final, FinalMetricsRecord, "final metrics.json")
    rec = out["recommended"]
    assert final_dir.name == rec["trial_dir"]
    assert final["final"]["trial"] == rec["trial_id"]
    assert final["ops"] == out["recommended"]["ops"].split()
    assert final["epochs"] == final["final"]["recipe"]["epochs"]
    assert final["final"]["proxy_test_acc"] == out["recommended"]["test_acc"]
    assert (final_dir / final["model"]).is_file()
    assert final["measured"]["latency_ms"] > 0
    [row] = out["final_models"]
    assert row["test_acc"] == final["test_acc"]
    assert row["proxy_test_acc"] == out["recommended"]["test_acc"]
    assert f"final model: {row['trial_id']} test_acc={final['test_acc']:.4f}" in run.stdout
    html = (tmp_path / "r" / "report.html").read_text()
    assert html.index("Final model") < html.index("Recommended model")
    trials = pd.read_csv(tmp_path / "r" / "trials.csv").to_dict("records")
    assert len(trials) == 2
    assert all(t["status"] == "finished" for t in trials)
    for t in trials:
        # every value the report shows came from the files the writers wrote
        trial_dir = experiment / t["trial_dir"]
        metrics = read_childnet(trial_dir)  # the measurement of the quiet phase joined (hwnas.measured)
        params = json.loads((trial_dir / "params.json").read_text())
        assert t["test_acc"] == metrics["test_acc"]
        assert t["flops"] == metrics["flops"]
        assert t["measured_latency_ms"] == metrics["measured"]["latency_ms"] > 0
        assert t["dominant"] == params["dominant"]
        assert t["alpha"] == params["alpha"]
        assert t["wall_seconds"] > 0
        assert t[f"lut_latency_ms[{t['search_lut']}]"] > 0
        assert t["ops"] == " ".join(metrics["ops"])


def test_the_synthetic_experiments_write_the_real_layout(tmp_path):
    root = Path(write_synthetic_experiment(str(tmp_path / "s"), trials=8, failed=1, running=1))
    assert _check_experiment(root) == 6
    rows = [
        {
            "test_acc": 0.8,
            "lut_latency_ms": 1.0,
            "measured_latency_ms": 0.9,
            "alpha": 0.1,
            "beta": 0.5,
            "gamma": 0.0,
            "delta": 0.5,
        },
        {"test_acc": 0.7, "lut_latency_ms": 0.5, "lut_energy_mj": 0.2},
    ]
    assert _check_experiment(Path(write_rows_experiment(str(tmp_path / "r"), rows)), finished_only=True) == 2


def test_check_record_names_the_field_that_breaks_the_contract():
    arch = {
        "space": {"name": "fbnet-cpu", "width": 1.0, "num_classes": 10, "hash": "h", "layers_hash": "l"},
        "ops": ["skip"],
        "lut_latency_ms": 0.1,
        "lut_energy_mj": None,
        "energy_source": "none",
        "lut": "x.json",
        "picked": "argmax",
        "arch_seed": 3,
    }
    check_record(arch, ArchRecord)
    with pytest.raises(ValueError, match=r"^arch: missing lut_latency_ms$"):
        check_record({k: v for k, v in arch.items() if k != "lut_latency_ms"}, ArchRecord, "arch")
    with pytest.raises(ValueError, match=r"^arch.space.width: expected float, got str"):
        check_record(dict(arch, space=dict(arch["space"], width="1")), ArchRecord, "arch")
    with pytest.raises(ValueError, match=r"^arch.picked: 'best' is not one of 'argmax', 'random'$"):
        check_record(dict(arch, picked="best"), ArchRecord, "arch")
    with pytest.raises(ValueError, match=r"^arch: unknown latency$"):
        check_record(dict(arch, latency=1.0), ArchRecord, "arch")


@pytest.mark.parametrize(
    "tail, running, expect",
    [
        (b'{"epoch": 2, "ph', True, "skipped"),  # Ray is appending: a write in progress
        ('{"epoch": 2, "note": "é'.encode()[:-1], True, "skipped"),  # cut inside a UTF-8 character
        (b'{"epoch": 2, "ph', False, "damaged"),  # a finished trial's file is complete
        (b'{"epoch": 2, "ph\n', True, "damaged"),  # a complete line cannot be in progress
        (b'{"epoch": 2, "note": "\xff"}\n', True, "damaged"),  # not UTF-8
        (b"[2]\n", True, "expected a JSON object"),
    ],
)
def test_result_rows_skip_only_a_running_trials_unfinished_last_line(tmp_path, tail, running, expect):
    (tmp_path / "result.json").write_bytes(b'{"epoch": 0}\n\n{"epoch": 1}\n' + tail)
    skipped = []
    if expect == "skipped":
        assert result_rows(tmp_path, running, skipped) == [{"epoch": 0}, {"epoch": 1}]
        assert skipped == [4], "the unfinished line's number (blank lines count)"
    else:
        where = re.escape(f"result file {tmp_path / 'result.json'}: line 4")
        with pytest.raises(UserError, match=rf"^{where}.*{expect}"):
            result_rows(tmp_path, running, skipped, "result file")
    (tmp_path / "result.json").write_bytes(b'{"ep\n{"epoch": 1}\n' + tail)
    with pytest.raises(UserError, match="line 1 is not valid JSON"):  # damage before the last line, even running
        result_rows(tmp_path, True)
