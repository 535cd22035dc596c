"""Damaged files of a real experiment: each command that reads one names it in one line.

The session's one tiny real sweep (``fault_template`` in tests/conftest.py:
configs/sweep-smoke.yaml, 2 trials, no baselines, the one tests/test_faults.py uses); each
case copies it, damages one file (truncated, garbage bytes, the wrong JSON type,
deleted where deletion matters), runs the command that reads it in this process
(``sweep.run --resume``, ``pareto.report``, ``python -m sweep.measurements``) and expects exit
2, exactly one ``error:`` line naming the file, no traceback, and no file of the experiment
changed. Ray's start is guarded: a case that slips past the checks fails instead of starting
a sweep. The last test repairs a damaged study, Ray Tune state and measurement record with
the flags that rebuild them (``--rebuild-study``, ``--rebuild-tuner``, ``--remeasure``) and
resumes a copy of the sweep for one more trial, end to end. The damages the fault matrix applies
(tests/faults_table.py: optuna.db truncated or deleted, tuner.pkl truncated, measurements.json
truncated for the measurement phase) are not repeated here.
"""

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import faults_table
import pytest
from faults_table import NAME, delete, snapshot, truncate

pytestmark = pytest.mark.slow  # the session's real sweep (built once, about 30 s); each case is then quick


@pytest.fixture(scope="module")
def swept(fault_template) -> Path:
    """The experiment folder of one finished 2-trial sweep (measured in its quiet phase): the
    template as built, which no test changes (each copies it)."""
    return fault_template.original


# --- damage ---------------------------------------------------------------------------


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xff garbage \x9c\x00" * 8)


def wrong_type(path: Path) -> None:
    path.write_text('["a list where an object belongs"]\n')


def bad_line(path: Path) -> None:
    """result.json: a garbled line in the middle, each line still complete."""
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = "{garbled\n"
    path.write_text("".join(lines))


def bad_entry(path: Path) -> None:
    """measurements.json: one entry without its measurement."""
    state = json.loads(path.read_text())
    key = sorted(state["models"])[0]
    state["models"][key] = {"model": state["models"][key]["model"]}
    path.write_text(json.dumps(state))


def baselines(damage):
    """baselines.json (the sweep trained none): a valid record, then damaged."""

    def make(path: Path) -> None:
        row = {"name": "resnet18", "width": 0.125, "test_acc": 0.5, "measured": {"latency_ms": 1.0}}
        path.write_text(json.dumps([row]))
        damage(path)

    make.__name__ = damage.__name__
    return make


# --- the commands, in this process ----------------------------------------------------


def resume(experiment: Path) -> tuple[str, list[str]]:
    return "sweep.run", ["--resume", "--storage", str(experiment.parent), "--name", experiment.name]


def report(experiment: Path) -> tuple[str, list[str]]:
    return "pareto.report", [str(experiment), "--out", str(experiment.parent / "report-out")]


def measurements(experiment: Path) -> tuple[str, list[str]]:
    return "sweep.measurements", [str(experiment)]


def run_cli(command, experiment: Path) -> tuple[object, str, bool]:
    """``(exit code, stderr, traceback?)`` of the command's ``main(argv)`` run here (the fault
    matrix's way: Ray's start and the timing of models guarded; reaching them counts as a traceback)."""
    out, reached = faults_table.run_cli(*command(experiment))
    if reached:
        out.stderr += "\na damaged file got past the checks: Ray would start now"
    return out.code, out.stderr, out.traceback or reached


# --- the matrix -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    file: str  # relative to the experiment; "*" picks the first match
    damage: object
    commands: tuple
    expect: str  # in the error line, besides the file's name


METRICS, STATE = "trial_*/child/metrics.json", "experiment_state-*.json"
ALL_JSON = (truncate, garbage, wrong_type)
CASES = [
    *(Case("sweep.json", d, (resume, report, measurements), "") for d in ALL_JSON),
    *(Case(METRICS, d, (resume, report, measurements), "") for d in ALL_JSON),
    Case(METRICS, truncate, (resume, measurements), "copy "),  # says where a copy is
    Case("measurements.json", truncate, (resume,), "--remeasure"),  # the measurement phase's: the matrix's
    # the report joins the trials' measurements from it (hwnas.measured): refused there too
    *(Case("measurements.json", d, (resume, report, measurements), "--remeasure") for d in (garbage, wrong_type)),
    Case("measurements.json", bad_entry, (resume, report, measurements), "--remeasure"),
    *(Case("baselines.json", baselines(d), (resume, report, measurements), "") for d in ALL_JSON),
    *(Case("trial_*/params.json", d, (report,), "") for d in ALL_JSON),
    *(Case("trial_*/search/arch.json", d, (report,), "") for d in ALL_JSON),
    Case("trial_*/result.json", bad_line, (report,), "not valid JSON"),
    Case("trial_*/result.json", truncate, (report,), "not valid JSON"),  # a finished trial's: not being written
    Case("optuna.db", garbage, (resume,), "--rebuild-study"),  # truncated, deleted: the matrix's
    *(Case("tuner.pkl", d, (resume,), "--rebuild-tuner") for d in (garbage, delete)),  # truncated: the matrix's
    *(Case(STATE, d, (resume,), "cannot be rebuilt") for d in ALL_JSON),
    *(Case("searcher-state-*.pkl", d, (resume,), "cannot be rebuilt") for d in (truncate, garbage)),
    Case("search_gen_state-*.json", truncate, (resume,), "cannot be rebuilt"),
    *(Case("warmup.pt", d, (resume,), "warm-up file") for d in (truncate, garbage)),
]


def _id(case: Case) -> str:
    return f"{case.file.replace('*', 'X')}-{case.damage.__name__}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_a_damaged_file_is_named_in_one_line_and_nothing_changes(swept, tmp_path, case):
    experiment = tmp_path / "experiments" / NAME
    shutil.copytree(swept, experiment)
    path = sorted(experiment.glob(case.file))[0] if "*" in case.file else experiment / case.file
    case.damage(path)
    before = snapshot(tmp_path)
    for command in case.commands:
        code, err, tb = run_cli(command, experiment)
        where = f"{command.__name__} with {case.file} {case.damage.__name__}"
        assert not tb, f"{where}: {err[-2000:]}"
        lines = err.strip().splitlines()
        assert code == 2, f"{where}: {code} {err}"
        assert len(lines) == 1, f"{where}: {code} {err}"
        assert lines[0].startswith("error: "), f"{where}: {code} {err}"
        assert str(path) in lines[0], f"{where}: {lines[0]}"
        assert case.expect in lines[0], f"{where}: {lines[0]}"
        assert snapshot(tmp_path) == before, f"{where}: changed a file"


def test_a_deleted_trial_result_is_not_written_yet_not_damage(swept, tmp_path):
    """A trial that has not written child/metrics.json (still running, or failed before) is
    legitimately absent: the commands go on (the report lists it as running)."""
    experiment = tmp_path / "experiments" / NAME
    shutil.copytree(swept, experiment)
    sorted(experiment.glob(METRICS))[0].unlink()
    from pareto.report import build_report

    report_json = build_report(str(experiment), str(tmp_path / "out"))
    assert report_json["counts"] == {"trials": 2, "finished": 1, "running": 1}
    from sweep.resume_check import Repairs, check_resume

    assert check_resume(experiment, json.loads((experiment / "sweep.json").read_text())) == Repairs()


def test_a_trial_ray_resumes_may_have_a_cut_copy(swept, tmp_path):
    """Killed while Ray copied a running trial's folder: the resumed trial writes it again."""
    from sweep.resume_check import Repairs, check_resume

    experiment = tmp_path / "experiments" / NAME
    shutil.copytree(swept, experiment)
    metrics = sorted(experiment.glob(METRICS))[0]
    truncate(metrics)
    state_path = sorted(experiment.glob(STATE))[-1]
    state = json.loads(state_path.read_text())
    for entry in state["trial_data"]:
        trial = json.loads(entry[0])
        if f"trial_{trial['trial_id']}" == metrics.parent.parent.name:
            entry[0] = json.dumps(dict(trial, status="RUNNING"))
    state_path.write_text(json.dumps(state))
    assert check_resume(experiment, json.loads((experiment / "sweep.json").read_text())) == Repairs()


def test_repairs_are_refused_without_resume(tmp_path, capsys):
    from sweep.run import main

    with pytest.raises(SystemExit) as exit_:
        main(["--storage", str(tmp_path), "--name", "fresh", "--rebuild-study"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --rebuild-study: repairs an experiment on --resume only"


# --- the repairs, end to end ------------------------------------------------------------


def _study(experiment: Path):
    import optuna

    record = json.loads((experiment / "sweep.json").read_text())
    return optuna.load_study(study_name=record["optuna"]["study_name"], storage=f"sqlite:///{experiment}/optuna.db")


def test_rebuild_flags_repair_and_resume_end_to_end(fault_template, tmp_path):
    from hwnas.io import check_pickle
    from hwnas.records import result_rows

    swept = fault_template.restore(tmp_path)
    original = {t.number: (t.params, t.values, t.state) for t in _study(swept).trials}
    truncate(swept / "optuna.db")
    garbage(swept / "tuner.pkl")
    truncate(swept / "measurements.json")
    code, err, tb = run_cli(resume, swept)  # without the flags: refused in one line (in this process)
    assert code == 2, err
    assert "--rebuild-tuner" in err
    assert not tb, err
    flags = ["--trials", "3", "--rebuild-study", "--rebuild-tuner", "--remeasure"]
    cmd = faults_table.sweep_cmd(swept, *flags)
    run = subprocess.run(cmd, cwd=swept.parent.parent, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rebuilt the Optuna study" in run.stdout
    assert "from 2 trials" in run.stdout
    # the damaged files kept aside, their replacements whole
    for name in ("optuna.db", "tuner.pkl", "measurements.json"):
        assert (swept / f"{name}.damaged").is_file(), name
    check_pickle(swept / "tuner.pkl")
    state = json.loads((swept / "measurements.json").read_text())
    assert len(state["models"]) >= 1  # the new trial's model, timed in the phase
    # the rebuilt study: the first two trials as they were (sampled values up to rounding), then the third
    trials = _study(swept).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    for number, (params, values, _) in original.items():
        assert trials[number].values == pytest.approx(values, rel=1e-12)
        assert trials[number].params.keys() == params.keys()
        assert all(math.isclose(trials[number].params[k], v, rel_tol=1e-9) for k, v in params.items())
    record = json.loads((swept / "sweep.json").read_text())
    assert [r["resume"] for r in record["runs"]] == [False, True]  # the refused resume left no entry
    assert record["runs"][-1]["finished"] == 3
    assert "wall_s" in record["runs"][-1]
    done = [result_rows(t)[-1] for t in sorted(swept.glob("trial_*")) if t.is_dir()]
    assert len(done) == 3
    assert all(r["phase"] == "done" for r in done)
