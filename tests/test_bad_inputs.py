"""The bad-input matrix (tests/bad_inputs_table.py): every case exits 2 with one
``error:`` line naming the file/field, no traceback, nothing written, no code run.
bench/bad_inputs.py runs the first test and counts the outcomes it records."""

import sys
import types
from pathlib import Path

import pytest
import torch
from bad_inputs_table import CASES, MARKER, Case, run_case, torchscript_file


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case, tmp_path, record_property):
    outcome = run_case(case, tmp_path / "case")
    # bench/bad_inputs.py runs this test and counts these
    record_property(
        "outcome",
        {
            "name": case.name,
            "code": outcome.code,
            "one_line": outcome.one_line,
            "traceback": outcome.traceback,
            "half_written": outcome.half_written,
            "code_ran": outcome.code_ran,
            "ok": outcome.ok,
            "last_line": (outcome.stderr.strip().splitlines() or ["(no stderr)"])[-1],
        },
    )
    assert not outcome.code_ran, "code from a crafted file ran"
    assert not outcome.traceback, outcome.stderr
    assert outcome.code == 2, (outcome.code, outcome.stderr)
    assert outcome.one_line, outcome.stderr
    assert not outcome.half_written, "the case changed files in its folder"


# every CLI that reads a user's file or flags (the sweep's web forms go through sweep.run's checks)
CLIS = {
    "childnet.measure",
    "childnet.train",
    "lut.estimate",
    "lut.profile",
    "lut.validate",
    "pareto.report",
    "supernet.search",
    "sweep.measurements",
    "sweep.run",
}


def test_the_matrix_covers_every_cli_with_distinct_cases():
    names = [c.name for c in CASES]
    assert len(CASES) >= 60, f"only {len(CASES)} cases"
    assert len(set(names)) == len(names), f"case names repeat: {sorted({n for n in names if names.count(n) > 1})}"
    missing = CLIS - {c.cli for c in CASES}
    assert not missing, f"CLIs without a bad-input case: {sorted(missing)}"


def _fake_cli(behaviour: str):
    """A CLI module whose ``main([folder])`` misbehaves as ``behaviour`` says ("good" does not)."""

    def main(argv):
        folder = Path(argv[0])
        lines = {"two lines": "error: bad field x\nerror: again", "no field": "error: something"}
        print(lines.get(behaviour, "error: bad field x"), file=sys.stderr)
        if behaviour == "traceback":
            raise ValueError("escaped")
        if behaviour == "writes":
            (folder / "half.json").write_text("{")
        if behaviour == "runs code":
            (folder / MARKER).touch()
        raise SystemExit(1 if behaviour == "exit 1" else 2)

    return types.SimpleNamespace(main=main)


@pytest.mark.parametrize(
    "behaviour, broken",
    [
        ("good", set()),
        ("traceback", {"traceback", "code", "one_line"}),
        ("writes", {"half_written"}),
        ("runs code", {"code_ran"}),
        ("two lines", {"one_line"}),
        ("no field", {"one_line"}),
        ("exit 1", {"code"}),
    ],
)
def test_the_judge_catches_each_way_a_cli_can_misbehave(behaviour, broken, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fake_cli", _fake_cli(behaviour))
    outcome = run_case(Case(behaviour, "fake_cli", lambda d: [str(d)], "bad field"), tmp_path / "case")
    seen = {
        "traceback": outcome.traceback,
        "code": outcome.code != 2,
        "half_written": outcome.half_written,
        "code_ran": outcome.code_ran,
        "one_line": not outcome.one_line,
    }
    assert {k for k, bad in seen.items() if bad} == broken, (outcome.code, outcome.stderr)
    assert outcome.ok == (not broken), "ok disagrees with what was judged"


def test_the_crafted_torchscript_file_really_runs_code_when_loaded(tmp_path):
    # why childnet.measure never loads one: torch.jit.load itself writes the file
    path = torchscript_file(tmp_path / "m.pt", tmp_path / MARKER)
    assert not (tmp_path / MARKER).exists()
    torch.jit.load(str(path))
    assert (tmp_path / MARKER).exists()


def test_trial_restore_never_empties_a_folder_that_is_not_the_trial_dir(tmp_path):
    from hwnas.errors import UserError
    from sweep.trial import _restore

    project = tmp_path / "project"
    project.mkdir()
    (project / "precious.txt").write_text("keep")
    with pytest.raises(UserError, match="is not the trial's own"):
        _restore(project, trial_dir=str(tmp_path / "ray" / "working_dirs" / "trial_1"))
    with pytest.raises(UserError, match="is not the trial's own"):
        _restore(project, trial_dir="")
    assert (project / "precious.txt").read_text() == "keep"
