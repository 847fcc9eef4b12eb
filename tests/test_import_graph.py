"""No import circles in tatamu or in benchmarks/, lazy imports included (issue 21).

A circle is a design smell even when Python happens to resolve it: two modules that need each
other are one idea split in two, or a lower layer reaching up. Imports inside functions count
(they are the usual way a circle is hidden); imports under ``if TYPE_CHECKING:`` do not (they
never run).

The graph: one node per module, a package's ``__init__`` being the package's own node (its
"face"). ``import a.b`` and ``from a.b import x`` add an edge to ``a.b``; when ``x`` is itself a
submodule (``from . import conv``) the edge goes to ``a.b.x`` instead. Importing ``a.b.c`` first
runs the face ``a.b`` (Python initialises parents before children), so that is an edge too, unless
the importer sits inside ``a.b`` itself (its own face is already running) or ``a`` is the top
package (its face is always first: nothing of tatamu runs before ``tatamu/__init__.py``). Only
modules inside the graph's own folder are nodes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def module_names(folder: Path, package: str) -> dict[str, Path]:
    """Every module under ``folder`` by dotted name (``pkg.sub`` for ``pkg/sub/__init__.py``)."""
    names = {}
    for path in sorted(folder.rglob("*.py")):
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every Import/ImportFrom in the tree, at any depth, except under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                stack.extend(child.orelse)  # the else branch does run
                continue
            stack.append(child)


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that module ``name`` (at ``path``) imports."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            source = _source(node, package)
            submodules = [f"{source}.{a.name}" for a in node.names
                          if f"{source}.{a.name}" in modules]
            targets = submodules
            if len(submodules) < len(node.names):  # at least one name defined in the face
                targets = [*submodules, source]
        found.update(t for t in targets if t in modules and t != name)
    return found | _faces_on_the_way(name, found, modules)


def _source(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` reads from."""
    if not node.level:
        return node.module
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _faces_on_the_way(name: str, targets: set[str], modules: dict[str, Path]) -> set[str]:
    """The package faces Python runs before reaching each target (see the module docstring)."""
    own = name.split(".")
    own_packages = {".".join(own[:i]) for i in range(1, len(own) + 1)}
    faces = set()
    for target in targets:
        parts = target.split(".")
        for i in range(2, len(parts)):  # from below the top package to the target's parent
            face = ".".join(parts[:i])
            if face in modules and face not in own_packages:
                faces.add(face)
    return faces


def import_graph(folder: Path, package: str) -> dict[str, set[str]]:
    modules = module_names(folder, package)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (``[a, b, ..., a]``) for each strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(set(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_circle(graph, group) for group in groups]


def _one_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest way round the group from its first member back to itself."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == start:
                    return [*paths[node], start]
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    following.append(child)
        frontier = following
    raise AssertionError(f"no circle in {group}")  # Tarjan's groups of 2+ always have one


def _describe(found: list[list[str]]) -> str:
    return "import circles:\n" + "\n".join("  " + " -> ".join(c) for c in found)


@pytest.mark.parametrize(("folder", "package"), [
    (ROOT / "src" / "tatamu", "tatamu"),
    (ROOT / "benchmarks", "benchmarks"),
])
def test_no_import_circles(folder, package):
    found = circles(import_graph(folder, package))
    assert not found, _describe(found)


# -- the checker itself must be able to fail -------------------------------------------------
def test_the_graph_sees_lazy_imports_and_skips_type_checking(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import a\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n"
        "else:\n    import os\nfrom ..a import f\n")
    graph = import_graph(pkg, "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub", "pkg.sub.b"}, "pkg.sub": set(),
                     "pkg.sub.b": {"pkg.a"}}
    assert circles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_a_name_from_a_package_face_is_an_edge_to_the_face(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("def f():\n    pass\n")
    (pkg / "b.py").write_text("from pkg import f, a\n")
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.b"] == {"pkg", "pkg.a"}
    assert circles(graph) == []
    (pkg / "a.py").write_text("def f():\n    from . import g\n")
    assert circles(import_graph(pkg, "pkg")) == [["pkg", "pkg.a", "pkg"]]


def test_reaching_into_another_package_runs_its_face_first(tmp_path):
    # top.low imports top.pkg.helper: Python runs top/pkg/__init__.py first, and that face
    # imports top.pkg.user, which imports top.low: a circle though no line names the face
    top = tmp_path / "top"
    (top / "pkg").mkdir(parents=True)
    (top / "__init__.py").write_text("")
    (top / "low.py").write_text("from .pkg.helper import h\n")
    (top / "pkg" / "__init__.py").write_text("from .user import u\n")
    (top / "pkg" / "helper.py").write_text("def h():\n    pass\n")
    (top / "pkg" / "user.py").write_text("from ..low import h\nfrom .helper import h as u\n")
    graph = import_graph(top, "top")
    assert graph["top.low"] == {"top.pkg", "top.pkg.helper"}
    assert graph["top.pkg.user"] == {"top.low", "top.pkg.helper"}  # its own face: no edge
    assert circles(graph) == [["top.low", "top.pkg", "top.pkg.user", "top.low"]]


def defined_in(path: Path) -> set[str]:
    """The names a module defines itself at its top level (not the ones it imports)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def re_exports_taken_from_own_faces(folder: Path, package: str) -> list[str]:
    """``pkg.sub.mod`` taking a name from ``pkg.sub`` (or ``pkg``) that the face only re-exports:
    the name lives in another module, which is where it should come from."""
    modules = module_names(folder, package)
    found = []
    for name, path in sorted(modules.items()):
        parts = name.split(".")
        own_faces = {".".join(parts[:i]) for i in range(1, len(parts))}
        own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _source(node, own_package)
            if source not in own_faces or source not in modules:
                continue
            defined = defined_in(modules[source])
            found += [f"{name}: from {source} import {alias.name}" for alias in node.names
                      if f"{source}.{alias.name}" not in modules and alias.name not in defined]
    return found


@pytest.mark.parametrize(("folder", "package"), [
    (ROOT / "src" / "tatamu", "tatamu"),
    (ROOT / "benchmarks", "benchmarks"),
])
def test_no_module_takes_a_re_exported_name_from_its_own_package_face(folder, package):
    # a face re-exports its submodules' names: a submodule taking a name from it instead of
    # from the module that defines it is how a circle starts (checkpoint -> tatamu.__version__
    # once tied 26 modules together). A name the face defines itself may come from it.
    found = re_exports_taken_from_own_faces(folder, package)
    assert not found, "take these from the module that defines them:\n  " + "\n  ".join(found)


def test_a_re_export_taken_from_the_face_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n\ndef g():\n    pass\n")
    (pkg / "a.py").write_text("def f():\n    pass\n")
    (pkg / "b.py").write_text("from . import a, g\nfrom pkg import f\n")
    assert re_exports_taken_from_own_faces(pkg, "pkg") == ["pkg.b: from pkg import f"]
