"""The import graph of cnnlab has no cycles.

DESIGN.md says data flows one way and each folder may import only what lies
below it; an import cycle is where that breaks first (half-initialised modules,
imports that only work in one order). This test reads every module under
``cnnlab/`` with ``ast`` (nothing is imported) and checks the graph.

Rules the graph is built with:

* A node is a module: ``cnnlab/a/b.py`` is ``cnnlab.a.b`` and
  ``cnnlab/a/__init__.py`` is the package ``cnnlab.a``.
* ``import a.b.c`` is an edge to ``a.b.c``. ``from a.b import c`` is an edge
  to ``a.b.c`` when ``c`` is a submodule or subpackage, else to ``a.b`` (the
  name comes from that package's ``__init__``). Relative imports are resolved
  against the importing module's package first.
* Only the module an import statement names is an edge: the ancestor packages
  Python initialises on the way (``cnnlab``, ``cnnlab.a``) are not. So a
  package ``__init__`` importing its own submodules is no cycle, but a
  submodule importing a name from its own package's ``__init__`` is an edge to
  that ``__init__`` and closes a cycle if the ``__init__`` imports it back.
* An import executed when the module loads (module body, class bodies, ``if``
  and ``try`` blocks) is a *module-level* edge; one inside a function or lambda
  runs only when called and is a *lazy* edge. Both are dependencies; messages
  say which kind each edge is. Imports under ``if TYPE_CHECKING:`` are ignored
  (their ``else:`` branch is not).
* Module-level cycles are not allowed. Lazy edges may be allowed one by one
  in ``ALLOWED_LAZY_IMPORTS`` with the reason (``(source, "*")`` allows every
  lazy import of one module); ``NOT_YET_FIXED_MODULE_LEVEL`` lists module-level
  edges in code outside the change that added this test, each with its owner
  and the fix, to be emptied. Both lists are kept short and every entry must
  still exist (a stale entry fails the test, so fixed cycles leave the lists).

Each cycle is reported as a chain ``a -> b (lazy, line 12) -> a``; every edge
inside a strongly connected component appears in at least one reported chain.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "cnnlab"

# (importer, imported or "*") -> why this function-level import must stay for now.
ALLOWED_LAZY_IMPORTS: dict[tuple[str, str], str] = {}
# Module-level edges that close a cycle in files outside the change that added this test: (importer, imported)
# -> owner and fix. Remove an entry as soon as its cycle is fixed (the staleness check insists).
NOT_YET_FIXED_MODULE_LEVEL: dict[tuple[str, str], str] = {}


def _allowed(edge: Edge) -> bool:
    if not edge.lazy:
        return (edge.source, edge.target) in NOT_YET_FIXED_MODULE_LEVEL
    return (edge.source, edge.target) in ALLOWED_LAZY_IMPORTS or (edge.source, "*") in ALLOWED_LAZY_IMPORTS


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    lazy: bool

    def describe(self) -> str:
        kind = "lazy" if self.lazy else "module-level"
        return f"{self.target} ({kind}, {self.source}:{self.line})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.Module):
    """Yield (import node, lazy) for every import that runs outside ``if TYPE_CHECKING:``."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, lazy = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, lazy
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children = node.orelse
        else:
            children = list(ast.iter_child_nodes(node))
        inner_lazy = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        stack.extend((child, inner_lazy) for child in children)


def _absolute_base(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def import_edges(importer: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The edges from ``importer`` to other cnnlab modules, one per imported module and statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    edges = []
    for node, lazy in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = _absolute_base(node, importer, is_package)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        for target in dict.fromkeys(targets):
            if target in modules and target != importer:
                edges.append(Edge(importer, target, node.lineno, lazy))
    return edges


def build_graph(root: Path = PACKAGE_ROOT) -> dict[str, list[Edge]]:
    modules = find_modules(root)
    return {name: import_edges(name, path, modules) for name, path in modules.items()}


def strongly_connected_components(graph: dict[str, list[Edge]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is deep enough to worry about recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for edge in children:
                child = edge.target
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def _shortest_path(graph: dict[str, list[Edge]], start: str, goal: str, allowed: set[str]) -> list[Edge]:
    previous: dict[str, Edge | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for edge in graph[node]:
            if edge.target in allowed and edge.target not in previous:
                previous[edge.target] = edge
                queue.append(edge.target)
    path = []
    node = goal
    while previous[node] is not None:
        path.append(previous[node])
        node = previous[node].source
    return path[::-1]


def find_cycles(graph: dict[str, list[Edge]]) -> list[list[Edge]]:
    """One shortest cycle through each edge of each strongly connected component, without repeats."""
    cycles: dict[frozenset, list[Edge]] = {}
    for component in strongly_connected_components(graph):
        members = set(component)
        for node in component:
            for edge in graph[node]:
                if edge.target not in members:
                    continue
                cycle = [edge, *_shortest_path(graph, edge.target, node, members)]
                cycles.setdefault(frozenset((e.source, e.target) for e in cycle), cycle)
    return list(cycles.values())


def describe_cycle(cycle: list[Edge]) -> str:
    return " -> ".join([cycle[0].source] + [edge.describe() for edge in cycle])


def _subgraph(graph: dict[str, list[Edge]], keep) -> dict[str, list[Edge]]:
    return {name: [edge for edge in edges if keep(edge)] for name, edges in graph.items()}


def test_no_module_level_import_cycles():
    graph = _subgraph(build_graph(), lambda edge: not edge.lazy and not _allowed(edge))
    cycles = [describe_cycle(cycle) for cycle in find_cycles(graph)]
    assert not cycles, "Import cycles at module level (each runs when the module loads):\n" + "\n".join(cycles)


def test_no_import_cycles_through_lazy_imports():
    graph = _subgraph(build_graph(), lambda edge: not _allowed(edge))
    # Cycles made only of module-level edges are the other test's to report.
    cycles = [describe_cycle(cycle) for cycle in find_cycles(graph) if any(edge.lazy for edge in cycle)]
    assert not cycles, (
        "Import cycles that close through function-level (lazy) imports. Move the shared code so imports "
        "go one way, or, if that cannot be done yet, add the lazy edge to ALLOWED_LAZY_IMPORTS with the "
        "reason:\n" + "\n".join(cycles)
    )


def test_allow_lists_have_reasons_and_no_stale_entries():
    graph = build_graph()
    for (source, target), reason in {**ALLOWED_LAZY_IMPORTS, **NOT_YET_FIXED_MODULE_LEVEL}.items():
        assert reason, f"allow-list entry ({source!r}, {target!r}) needs a reason"
        lazy_list = (source, target) in ALLOWED_LAZY_IMPORTS
        edges = [edge for edge in graph.get(source, []) if target in ("*", edge.target)]
        edges = [edge for edge in edges if edge.lazy == lazy_list]
        kind = "a lazy" if lazy_list else "a module-level"
        assert edges, f"Stale allow-list entry: {source} has no {kind} import of {target} any more; remove it"


def _write_tree(root: Path, source_by_path: dict[str, str]) -> Path:
    for relative, source in source_by_path.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


def test_checker_sees_lazy_cycle_and_ignores_type_checking_and_package_init(tmp_path):
    root = _write_tree(
        tmp_path / "cnnlab",
        {
            "__init__.py": "",
            "pkg/__init__.py": "from cnnlab.pkg import a\nfrom .b import B\n",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from cnnlab.pkg.b import B\n"
                "def f():\n    from cnnlab.pkg import b\n"
            ),
            "pkg/b.py": "from . import a\nfrom cnnlab.pkg import NAME\n",
        },
    )
    graph = build_graph(root)
    edges = {(e.source, e.target, e.lazy) for edges in graph.values() for e in edges}
    assert edges == {
        ("cnnlab.pkg", "cnnlab.pkg.a", False),
        ("cnnlab.pkg", "cnnlab.pkg.b", False),
        ("cnnlab.pkg.a", "cnnlab.pkg.b", True),
        ("cnnlab.pkg.b", "cnnlab.pkg.a", False),
        ("cnnlab.pkg.b", "cnnlab.pkg", False),
    }
    chains = sorted(describe_cycle(cycle) for cycle in find_cycles(graph))
    assert "cnnlab.pkg.a -> cnnlab.pkg.b (lazy, cnnlab.pkg.a:5) -> cnnlab.pkg.a (module-level, cnnlab.pkg.b:1)" in chains
    assert any(chain.startswith("cnnlab.pkg -> cnnlab.pkg.b") for chain in chains)
