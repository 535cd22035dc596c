"""The project's imports go one way: no cycle among its modules (issue 25).

The graph is read from the source (``ast``; nothing is imported): every ``import`` and
``from ... import`` of a project module, at the top of a module, inside functions and
under ``if TYPE_CHECKING:`` alike (an import inside a function only hides a cycle until
that function runs; a type named for checking still ties the two modules together).
``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one, else
to ``pkg``.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hwnas", "lut", "supernet", "childnet", "sweep", "pareto")  # pyproject's packages


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(tree: ast.AST):
    """Every import statement of a module, wherever it stands."""
    return (node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))


def _project(name: str, modules: dict) -> str | None:
    """The project module ``name`` imports (its longest prefix that is one), None: outside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, node, modules: dict) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package, up level - 1
            package = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = ".".join(filter(None, (package, base)))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    return {target for target in (_project(n, modules) for n in names) if target and target != module}


def import_graph() -> dict[str, set[str]]:
    """``{module: the project modules it imports}``."""
    modules = _modules()
    return {
        name: set().union(*(_targets(name, node, modules) for node in _imports(ast.parse(path.read_text()))))
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, None when the graph has none (depth-first search)."""
    state, path = {}, []  # state: 1 on the current path, 2 done

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_finder_sees_a_cycle_and_a_one_way_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_reads_every_package():
    graph = import_graph()
    assert {name.partition(".")[0] for name in graph} == set(PACKAGES), "a package has no module read"
    # the edges a hidden cycle was made of are seen (an import inside a function counts)
    assert "sweep.experiment" in graph["sweep.measurements"], graph["sweep.measurements"]


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
