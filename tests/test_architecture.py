"""The shape of the house (issue 13), checked on the source instead of trusted to review.

THE CONVENTIONS (docs/architecture.md, section "Layout", explains them to a newcomer; keep
the two saying the same):

- Imports run one way. No module of oomaudit/ or plugins/ imports a module that imports it
  back, directly or through others. Every import statement counts: at the top of a module or
  lazily inside a function, relative ones resolved, ``from pkg import mod`` as an import of
  ``pkg.mod``. Only imports under ``if TYPE_CHECKING:`` do not (they never run); a
  ``"module:function"`` string (oomaudit/refs.py, cli's COMMANDS) is a name, not an import.
- plugins/ holds one package per plugin. Its registration, ``plugins/NAME/__init__.py``,
  imports at its top only ``oomaudit`` (the public API, ``from oomaudit import ...``) and its
  own ``constants`` module; its code comes by ``"module:function"`` or lazily inside a hook.
  No module imports a plugin's ``__init__``: a code module takes what both sides need from
  ``constants`` (its own or another plugin's), or another plugin's code module.
- Modules of one concern: no module of oomaudit/ or plugins/ is over 450 lines, and one over
  300 says why it is one concern in its module docstring, in a sentence with the words
  "one concern" (for example "One concern: reading option files as mysqld does ...").
- Every package is listed in pyproject.toml's ``[tool.setuptools] packages`` (an editable
  install works without it; a wheel would leave the package out).
"""
from __future__ import annotations

import ast
import sys
from itertools import pairwise
from pathlib import Path

from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOTS = {"oomaudit": REPO / "oomaudit", "oomaudit.plugins": REPO / "plugins"}
MAX_LINES, EXPLAIN_ABOVE = 450, 300


def _modules() -> dict[str, Path]:
    """Every module of the two trees by the name it is imported as."""
    found = {}
    for prefix, folder in ROOTS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if prefix == "oomaudit" and parts[:1] == ("plugins",):
                continue  # not a folder of oomaudit/; plugins/ installs there
            found[".".join((prefix, *parts))] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module of ours ``name`` is, or is inside (``oomaudit.host.Fact`` -> oomaudit.host)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str) -> list[tuple[str, int, bool]]:
    """(module imported, line, at the top of the module) for each of our modules ``name``
    imports, lazily or not, leaving out ``if TYPE_CHECKING:`` blocks."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit_one(other, top)
            else:
                visit_one(child, top)

    def visit_one(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((m, node.lineno, top) for a in node.names if (m := _known(a.name)))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + [node.module or ""])
                base = base.rstrip(".")
            else:
                base = node.module or ""
            for alias in node.names:
                module = f"{base}.{alias.name}"
                target = module if module in MODULES else _known(base)
                if target:
                    found.append((target, node.lineno, top))
        inside = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                               ast.Lambda))
        visit(node, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return [item for item in dict.fromkeys(found) if item[0] != name]


GRAPH = {name: imports(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Each group of modules that import one another (Tarjan's strongly connected
    components), as one circle through it with the lines that make it."""
    edges = {name: {m for m, _, _ in found} for name, found in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for node in sorted(edges):
            if node not in index:
                connect(node)
    finally:
        sys.setrecursionlimit(limit)
    return [_circle(group, edges) for group in groups]


def _circle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest way from the group's first module back to it, each step with its line."""
    start, members = group[0], set(group)
    came: dict[str, str] = {}
    level = [start]
    while level and start not in came:
        following = []
        for node in level:
            for other in sorted(edges[node] & members):
                if other not in came:
                    came[other] = node
                    following.append(other)
        level = following
    path = [start]
    while len(path) == 1 or path[-1] != start:
        path.append(came[path[-1]])
    path.reverse()
    steps = []
    for here, there in pairwise(path):
        line, top = next((line, top) for m, line, top in GRAPH[here] if m == there)
        steps.append(f"{here} (line {line}{'' if top else ', lazily'})")
    return [*steps, path[-1]]


def test_no_module_imports_one_that_imports_it_back():
    circles = [" -> ".join(circle) for circle in _cycles()]
    assert circles == [], "import circles:\n" + "\n".join(circles)


def test_the_graph_sees_every_kind_of_import():
    """The check above is only as good as this reading: a relative, a lazy and a
    ``from package import module`` import are all found (cli imports commands by name)."""
    found = {m: top for m, _, top in GRAPH["oomaudit.commands.audit"]}
    assert found["oomaudit.invocation"] and found["oomaudit.output"]
    assert found["oomaudit.baseline"] is False  # lazily, inside _report
    assert "oomaudit.engine" not in found  # under TYPE_CHECKING only
    assert ("oomaudit.fleetview", False) in {(m, top) for m, _, top
                                             in GRAPH["oomaudit.commands.fleet"]}


def _packages() -> list[str]:
    return sorted(name for name, path in MODULES.items()
                  if name.startswith("oomaudit.plugins.") and path.name == "__init__.py")


def test_plugins_holds_one_package_per_plugin():
    loose = sorted(p.name for p in ROOTS["oomaudit.plugins"].glob("*.py") if p.stem != "__init__")
    assert loose == [], "plugins/ holds packages only (plugins/NAME/__init__.py)"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    entry_points = pyproject["project"]["entry-points"]["oomaudit"].values()
    plugins = {ep for ep in entry_points if ep.startswith("oomaudit.plugins.")}
    assert plugins and plugins <= set(_packages())


def test_a_registration_imports_only_oomaudit_and_its_constants():
    """What every run imports for each plugin is its __init__: the code behind it comes when
    a hook or a rule has work."""
    wrong = []
    for package in _packages():
        allowed = {"oomaudit", f"{package}.constants"}
        wrong += [f"{MODULES[package].relative_to(REPO)}:{line}: imports {module}"
                  for module, line, top in GRAPH[package] if top and module not in allowed]
    assert not wrong, "a registration imports more than oomaudit and its constants:\n" + \
        "\n".join(wrong)


def test_no_module_imports_a_plugins_registration():
    """Code modules take shared names from ``constants``: importing a package's __init__ for
    them is what made each plugin two modules pointing at each other."""
    registrations = set(_packages())
    wrong = [f"{MODULES[name].relative_to(REPO)}:{line}: imports {module}"
             for name, found in GRAPH.items() for module, line, _ in found
             if module in registrations]
    assert not wrong, "imports of a plugin's registration (use its constants):\n" + \
        "\n".join(wrong)


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def test_modules_hold_one_concern():
    too_long, unexplained = [], []
    for path in MODULES.values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        shown = f"{path.relative_to(REPO)} ({lines} lines)"
        if lines > MAX_LINES:
            too_long.append(shown)
        elif lines > EXPLAIN_ABOVE and "one concern" not in _docstring(path).lower():
            unexplained.append(shown)
    assert not too_long, f"over {MAX_LINES} lines, split along a seam:\n" + "\n".join(too_long)
    assert not unexplained, (f"over {EXPLAIN_ABOVE} lines, the module docstring says why it is "
                             "one concern (with those words):\n" + "\n".join(unexplained))


def test_every_package_is_installed():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    missing = sorted(packages - listed)
    assert not missing, "not in pyproject.toml's [tool.setuptools] packages: " + ", ".join(missing)
