"""bench/matrix.py, the way bench/faults.py and bench/bad_inputs.py run a matrix test of
tests/ without importing from it: on a tiny matrix whose outcomes are known by hand."""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MATRIX = """
import pytest

OPEN = pytest.param("open", marks=pytest.mark.xfail(reason="an open defect"))

@pytest.mark.parametrize("case", ["a/1", "a/2", "b/1", "boom", OPEN])
def test_matrix(case, record_property):
    if case == "boom":
        raise RuntimeError("raised before it recorded an outcome")
    record_property("outcome", {"name": case, "ok": case == "a/1"})
    assert case == "a/1"
"""

RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
from matrix import run_matrix
outcomes, unrecorded = run_matrix(sys.argv[2], "--runxfail", keep=lambda case: case != "b/1")
print(json.dumps([outcomes, unrecorded]))
"""


def test_the_recorded_outcomes_come_back_and_only_the_kept_cases_run(tmp_path):
    (tmp_path / "test_m.py").write_text(MATRIX)
    test = f"{tmp_path / 'test_m.py'}::test_matrix"
    cmd = [sys.executable, "-c", RUN, str(ROOT / "bench"), test]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    outcomes, unrecorded = json.loads(run.stdout.strip().splitlines()[-1])
    # b/1 not kept; a/2 and the open defect (--runxfail) fail, each after it recorded; boom recorded nothing
    assert outcomes == [{"name": "a/1", "ok": True}, {"name": "a/2", "ok": False}, {"name": "open", "ok": False}]
    assert unrecorded == ["boom"]
    assert "3 failed, 1 passed, 1 deselected" in run.stdout, run.stdout


def _imported(tree: ast.Module) -> set[str]:
    """The top-level names of the absolute imports of a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_bench_imports_from_tests():
    """A bench takes synthetic experiments from testdata/ and runs matrix tests through pytest:
    importing tests/ (or putting it on sys.path) would tie a figure to the suite's layout."""
    tests = ROOT / "tests"
    test_modules = {p.stem for p in tests.glob("*.py")} | {
        p.name for p in tests.iterdir() if (p / "__init__.py").is_file()
    }
    for path in sorted((ROOT / "bench").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        from_tests = _imported(tree) & (test_modules | {"tests"})
        assert not from_tests, f"{path.name} imports {sorted(from_tests)} from tests/"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.path.insert", "sys.path.append"):
                assert "tests" not in ast.unparse(node), f"{path.name} puts tests/ on sys.path: {ast.unparse(node)}"
