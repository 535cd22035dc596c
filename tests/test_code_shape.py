"""bench/code_shape.py's counts on a tiny fake project whose answers are known by hand."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_code_shape():
    spec = importlib.util.spec_from_file_location("code_shape", ROOT / "bench" / "code_shape.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cs = _load_code_shape()

LAYOUT = '''"""Names. "metrics.json" in a docstring is not a literal."""
RECORD = "sweep.json"
CHILD = "child"
REPORT_JSON, REPORT_HTML = "report.json", "report.html"
MARKERS = (RECORD,)
'''


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path):
    return _fake_project(tmp_path)


def _fake_project(tmp_path: Path) -> Path:
    long_body = "".join(f"    x{i} = {i}\n" for i in range(60))
    routes = "".join(f"    @app.get('/r{i}')\n    def r{i}():\n" + "        pass\n" * 5 for i in range(12))
    _write(
        tmp_path,
        {
            "README.md": "one\ntwo\nthree\n",
            "hwnas/__init__.py": "",
            "hwnas/layout.py": LAYOUT,
            "hwnas/errors.py": "class UserError(Exception):\n    pass\n\ndef main():\n    pass\n",
            "hwnas/space.py": "FBNET_OPS = ('skip',)\n\ndef _helper():\n    pass\n",
            "hwnas/io.py": "def read_json(p):\n    pass\n",
            "hwnas/cyc_a.py": "from hwnas import cyc_b\n",
            "hwnas/cyc_b.py": "from . import cyc_a\n",
            "hwnas/late.py": "def f():\n    import hwnas.cyc_a\n",
            "hwnas/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hwnas.late\n",
            "hwnas/long.py": f"def long():\n{long_body}\n\ndef short():\n    return 1\n",
            "hwnas/web.py": f"def routes(app):\n{routes}",
            "pareto/__init__.py": "",
            "pareto/errors.py": "class ParetoInputError(Exception):\n    pass\n\ndef main():\n    pass\n",
            "pareto/trial.py": (
                '"""Reads "sweep.json"."""\n'
                "FBNET_OPS = ('skip',)\n\n"
                "def _helper():\n    pass\n\n"
                "def load_json(p):\n    pass\n\n"
                "def read(folder, name):\n"
                "    a = folder / 'sweep.json'\n"
                "    b = f'{folder}/child/report.json'\n"
                "    c = 'my_sweep.json', 'child', 'report.jsonl', 'x.report.html'\n"
                "    return 'see report.html and sweep.json'\n"
            ),
            "tests/test_x.py": "P = 'sweep.json'\n",
            "bench/b.py": "P = 'report.html'\nQ = 'report.json'\n",
        },
    )
    return tmp_path


def test_readme_lines(tree):
    assert cs.readme_lines(tree) == 3


def test_file_names_are_the_layouts_constants_with_a_dot(tree):
    names = cs.file_names(tree / "hwnas" / "layout.py")
    assert names == {"sweep.json", "report.json", "report.html"}, "folder names or docstrings were taken"


def test_literals_count_whole_file_names_outside_docstrings(tree):
    names = cs.file_names(tree / "hwnas" / "layout.py")
    files = [f for f in cs.python_files(tree, "hwnas", "pareto") if f.name != "layout.py"]
    counts = cs.literal_file_names(files, names)
    # 'sweep.json', the f-string's report.json, 'report.html' and 'sweep.json' in one sentence;
    # not the docstring, my_sweep.json, report.jsonl, x.report.html or the folder 'child'
    assert counts == {tree / "pareto" / "trial.py": 4}
    assert sum(cs.literal_file_names(cs.python_files(tree, "tests"), names).values()) == 1
    assert sum(cs.literal_file_names(cs.python_files(tree, "bench"), names).values()) == 2


def test_copies_are_shared_public_names_and_known_renames(tree):
    copies = cs.pareto_copies(tree)
    assert "FBNET_OPS" in copies, "a constant defined in both was missed"
    assert "ParetoInputError = UserError" in copies, "a known copy under another name was missed"
    assert "load_json = read_json" in copies
    assert "_helper" not in copies, "a private helper counted as a copy"
    assert "main" not in copies, "an entry point counted as a copy"
    assert len(copies) == 3, copies


def test_a_cycle_counts_module_level_imports_only(tree):
    graph = cs.import_graph(tree, packages=("hwnas", "pareto"))
    assert graph["hwnas.cyc_a"] == {"hwnas.cyc_b"}, "from package import submodule"
    assert graph["hwnas.cyc_b"] == {"hwnas.cyc_a"}, "relative import"
    assert graph["hwnas.late"] == set(), "an import inside a function counted"
    assert graph["hwnas.typed"] == set(), "an import under TYPE_CHECKING counted"
    assert cs.import_cycles(graph) == [["hwnas.cyc_a", "hwnas.cyc_b"]]


def test_long_functions_leave_out_route_tables(tree):
    long = cs.functions_over(cs.python_files(tree, "hwnas"), tree, limit=60)
    assert long == [("hwnas/long.py:1 long", 61)], "a route table or a short function counted"


def test_the_last_line_has_every_figure_and_nan_without_time_suite(tree):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "code_shape.py"), "--root", str(tree)],
        capture_output=True,
        text=True,
        check=True,
    )
    last = run.stdout.strip().splitlines()[-1]
    figures = dict(part.split("=") for part in last.split())
    assert figures == {
        "readme_lines": "3",
        "literal_file_names": "4",
        "pareto_copies": "3",
        "cycles": "1",
        "functions_over_60": "1",
        "suite_s": "nan",
        "fast_s": "nan",
        "pytest_rss_gb": "nan",
    }
