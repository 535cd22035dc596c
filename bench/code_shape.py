"""The shape of the code (issue 25's figures), read from the source with ``ast``, never imported.

Prints the details first (each long function, each copy, each cycle, the literal counts of
tests/ and bench/), then last
``readme_lines=… literal_file_names=… pareto_copies=… cycles=… functions_over_60=… suite_s=… fast_s=… pytest_rss_gb=…``
(goals: README <= 150, 0 literals, 0 copies, 0 cycles, 0 long functions, suite <= 600 s,
fast <= 180 s, RSS <= 4 GB).

What is counted, and where:
- ``readme_lines``: lines of README.md.
- ``literal_file_names``: string literals naming an experiment *file* of ``hwnas/layout.py``
  (its module-level string constants holding a dot, e.g. ``"metrics.json"``, ``".lock"``;
  folder names like ``"child"`` are also config sections and words, so they are left out)
  in the packages (``PACKAGES``) other than ``hwnas/layout.py``. A name counts where it is
  a whole path part of a literal (``"child/metrics.json"`` counts, ``"lut_metrics.json"``
  does not), f-string pieces included, docstrings not. tests/ (with testdata/, the tests'
  synthetic experiments) and bench/ are counted separately, on the ``literals:`` line above the last.
- ``pareto_copies``: public names defined at the top level (function, class, UPPER_CASE
  constant) both in ``pareto/`` and in ``hwnas/``, plus the known copies under other names
  (``KNOWN_COPIES``).
- ``cycles``: strongly connected groups (more than one module) of the import graph among
  the packages' modules, from module-level imports only (not inside functions nor under
  ``if TYPE_CHECKING``); each group is one cycle.
- ``functions_over_60``: functions (methods and nested ones each on their own) of the
  packages longer than 60 lines, from ``def`` to the last line, decorators left out. A
  route table (a function defining web routes as nested functions decorated
  ``@<app>.get/post/...``) is left out; its routes count on their own.
- ``suite_s``, ``fast_s``, ``pytest_rss_gb``: only with ``--time-suite``, which runs
  ``bash scripts/test.sh`` and ``bash scripts/test.sh --fast`` under ``/usr/bin/time -v``
  (wall time; the largest resident memory of any process of the full suite, which is
  pytest's); otherwise ``nan``.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hwnas", "lut", "supernet", "childnet", "sweep", "pareto")
LAYOUT = Path("hwnas") / "layout.py"
LONG = 60
# copies under another name: (defined in pareto, defined in hwnas)
KNOWN_COPIES = (
    ("ParetoInputError", "UserError"),
    ("write_all", "atomic_write_many"),
    ("load_json", "read_json"),
    ("_result_rows", "result_rows"),
)
# names every package may define for itself (an entry point, the export list)
NOT_COPIES = {"main", "__all__"}
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "route", "middleware", "websocket"}

__all__ = [
    "file_names",
    "functions_over",
    "import_cycles",
    "literal_file_names",
    "pareto_copies",
    "python_files",
    "readme_lines",
]


def python_files(root: Path, *folders: str) -> list[Path]:
    """The ``.py`` files under ``root/<folder>`` for each folder, sorted."""
    return sorted(p for folder in folders for p in (root / folder).rglob("*.py"))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def readme_lines(root: Path) -> int:
    return len((root / "README.md").read_text(encoding="utf-8").splitlines())


# --- literal file names -------------------------------------------------------------


def _assigned_strings(node: ast.stmt) -> list[tuple[str, str]]:
    """``(name, value)`` of each string a module-level assignment binds (``A, B = "a", "b"`` too)."""
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        targets, value = [node.target], node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        targets, value = [node.targets[0]], node.value
    else:
        return []
    if isinstance(targets[0], ast.Tuple) and isinstance(value, ast.Tuple):
        pairs = zip(targets[0].elts, value.elts)
    else:
        pairs = zip(targets, [value])
    return [
        (t.id, v.value)
        for t, v in pairs
        if isinstance(t, ast.Name) and isinstance(v, ast.Constant) and isinstance(v.value, str)
    ]


def file_names(layout: Path) -> set[str]:
    """The file names ``layout`` (hwnas/layout.py) defines: its string constants holding a dot."""
    return {value for node in _parse(layout).body for _, value in _assigned_strings(node) if "." in value}


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes of the module, its classes and functions."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _name_pattern(names: set[str]) -> re.Pattern:
    # a whole path part: not glued to a longer name on either side
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?!\w)")


def literal_file_names(files: list[Path], names: set[str]) -> dict[Path, int]:
    """For each file holding any, how often a name of ``names`` occurs in its string literals
    (docstrings left out)."""
    if not names:
        return {}
    pattern = _name_pattern(names)
    counts = {}
    for path in files:
        tree = _parse(path)
        skip = _docstrings(tree)
        n = sum(
            len(pattern.findall(node.value))
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        )
        if n:
            counts[path] = n
    return counts


# --- copies between pareto and hwnas --------------------------------------------------


def _bound_names(node: ast.stmt) -> list[str]:
    """The names a module-level assignment binds (``A, B = ...`` too)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _top_level_names(files: list[Path], private: bool = False) -> set[str]:
    """Public functions, classes and UPPER_CASE constants defined at the top of ``files`` (a private
    helper of the same name is its module's own business)."""
    names = set()
    for path in files:
        for node in _parse(path).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            else:
                names.update(n for n in _bound_names(node) if n.isupper())
    return {n for n in names if n not in NOT_COPIES and (private or not n.startswith("_"))}


def pareto_copies(root: Path) -> list[str]:
    """The names defined in both pareto/ and hwnas/ (``"pareto X = hwnas Y"`` for a known copy)."""
    pareto, hwnas = python_files(root, "pareto"), python_files(root, "hwnas")
    same = sorted(_top_level_names(pareto) & _top_level_names(hwnas))
    pareto_all, hwnas_all = _top_level_names(pareto, private=True), _top_level_names(hwnas, private=True)
    known = [f"{p} = {h}" for p, h in KNOWN_COPIES if p in pareto_all and h in hwnas_all and p != h]
    return same + known


# --- import cycles ----------------------------------------------------------------------


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]):
    """The import statements run when the module is imported: at the top, in ``if``/``try``/``with``
    blocks (not under ``if TYPE_CHECKING``), never inside a function or class."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, ast.With):
            yield from _module_level_imports(node.body)


def _imported(node: ast.stmt, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The project modules an import statement of ``module`` loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in known}
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    out = set()
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        if sub in known:  # from package import submodule
            out.add(sub)
        elif source in known:
            out.add(source)
    return out


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules its module-level imports load."""
    files = {_module_name(root, p): p for p in python_files(root, *packages)}
    known = set(files)
    graph = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        imports = _module_level_imports(_parse(path).body)
        graph[module] = {m for node in imports for m in _imported(node, module, is_package, known)} - {module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(groups)


# --- long functions -----------------------------------------------------------------------


def _is_route(node: ast.AST) -> bool:
    """A function decorated ``@<something>.get(...)`` (or post, middleware, ...): a web route."""
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTE_DECORATORS
        for d in node.decorator_list
    )


def _is_route_table(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_is_route(child) for child in ast.walk(node) if child is not node)


def functions_over(files: list[Path], root: Path, limit: int = LONG) -> list[tuple[str, int]]:
    """``("path:line name", lines)`` of each function longer than ``limit`` lines, route tables left out."""
    out = []
    for path in files:
        for node in ast.walk(_parse(path)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            lines = node.end_lineno - node.lineno + 1
            if lines > limit and not _is_route_table(node):
                out.append((f"{path.relative_to(root)}:{node.lineno} {node.name}", lines))
    return out


# --- the suite's time and memory ---------------------------------------------------------


def _timed(args: list[str], root: Path) -> tuple[int, float, float]:
    """``(exit code, wall seconds, max resident GB)`` of ``args`` under ``/usr/bin/time -v``."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        code = subprocess.call(["/usr/bin/time", "-v", "-o", report.name, *args], cwd=root)
        text = report.read()
    wall = re.search(r"Elapsed \(wall clock\) time .*?: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    seconds = float("nan")
    if wall:
        h, m, s = wall.groups()
        seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    return code, seconds, int(rss.group(1)) / 1024**2 if rss else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-suite", action="store_true", help="also run the full suite and --fast, timed (minutes)")
    p.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    a = p.parse_args()
    root = a.root
    packages = python_files(root, *PACKAGES)

    long = functions_over(packages, root)
    for where, lines in long:
        print(f"long: {where} {lines} lines")
    copies = pareto_copies(root)
    for name in copies:
        print(f"copy: {name}")
    cycles = import_cycles(import_graph(root))
    for group in cycles:
        print(f"cycle: {' '.join(group)}")
    names = file_names(root / LAYOUT)
    literals = {
        where: literal_file_names([f for f in python_files(root, *folders) if f != root / LAYOUT], names)
        for where, folders in (("packages", PACKAGES), ("tests", ("tests", "testdata")), ("bench", ("bench",)))
    }
    for path, n in literals["packages"].items():
        print(f"literal: {path.relative_to(root)} {n}")
    print("literals: " + " ".join(f"{where}={sum(counts.values())}" for where, counts in literals.items()))

    suite_s = fast_s = rss_gb = float("nan")
    if a.time_suite:
        code, suite_s, rss_gb = _timed(["bash", "scripts/test.sh"], root)
        fast_code, fast_s, _ = _timed(["bash", "scripts/test.sh", "--fast"], root)
        print(f"suite_exit={code} fast_exit={fast_code}")
    figures = {
        "readme_lines": readme_lines(root),
        "literal_file_names": sum(literals["packages"].values()),
        "pareto_copies": len(copies),
        "cycles": len(cycles),
        "functions_over_60": len(long),
        "suite_s": f"{suite_s:.0f}",
        "fast_s": f"{fast_s:.0f}",
        "pytest_rss_gb": f"{rss_gb:.1f}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
