"""The bad-input matrix (tests/bad_inputs_table.py): every case exits 2 with one
``error:`` line naming the file/field, no traceback, nothing written, no code run."""

import pytest
import torch
from bad_inputs_table import CASES, MARKER, run_case, torchscript_file


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case, tmp_path):
    outcome = run_case(case, tmp_path / "case")
    assert not outcome.code_ran, "code from a crafted file ran"
    assert not outcome.traceback, outcome.stderr
    assert outcome.code == 2, (outcome.code, outcome.stderr)
    assert outcome.one_line, outcome.stderr
    assert not outcome.half_written, "the case changed files in its folder"


def test_matrix_is_large():
    assert len(CASES) >= 60 and len({c.name for c in CASES}) == len(CASES)


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
