"""No import cycle among the modules of ``diffevo/`` (nor inside ``tasks/`` or ``latent/``), read from the source
with ast (imports inside functions
included, so a cycle hidden by a function-level import is found too)."""

from __future__ import annotations

from pathlib import Path

from import_scan import imports

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str, root: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``) for every .py file under ``root/package/``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _imported(module: str, path: Path, is_package: bool) -> set[str]:
    """Every dotted name ``module`` imports anywhere in its file (relative imports resolved), with the
    ``from X import name`` targets as both X and X.name."""
    package = tuple(module.split(".") if is_package else module.split(".")[:-1])
    return {name for _, name in imports(path.read_text(encoding="utf-8"), package)}


def import_graph(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports. An import of one of its own parent packages is left
    out: that package's ``__init__`` is already running when the module loads."""
    modules = _modules(package, root)
    graph = {}
    for name, (path, is_package) in modules.items():
        parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        graph[name] = {m for m in _imported(name, path, is_package) if m in modules and m != name} - parents
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle [a, b, ..., a], or None when the graph is acyclic (iterative depth-first search)."""
    state: dict[str, int] = {}                # 1: on the current path, 2: finished
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_find_cycle_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_imports_inside_functions(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n    return g\n")
    (pkg / "b.py").write_text("from . import a\n")
    graph = import_graph("pkg", tmp_path)
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_no_import_cycle_in_tasks_or_latent():
    for package in ("tasks", "latent"):
        cycle = find_cycle(import_graph(package))
        assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_in_diffevo():
    graph = import_graph("diffevo")
    assert "diffevo.evaluation.recipe" in graph["diffevo.evaluation.local"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
