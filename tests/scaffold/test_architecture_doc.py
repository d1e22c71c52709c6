"""docs/architecture.md, the newcomer's map, kept honest: its "Add a plugin" skeleton is what
``oomaudit new-plugin myapp`` writes and prints (test_new_plugin.py installs that package
and runs it), every path it names exists, and every module of the engine, the parsers and
the plugins is on it."""
from __future__ import annotations

import re

from conftest import REPO

from oomaudit.commands.newplugin import render

DOC = REPO / "docs" / "architecture.md"
TEXT = DOC.read_text(encoding="utf-8")
SKELETON = "oomaudit-myapp/"
_BLOCK = re.compile(r'^```\w* title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
_CONSOLE = re.compile(r"^```console\n\$ oomaudit new-plugin myapp\n(.*?)^```$",
                      re.MULTILINE | re.DOTALL)
_TICKED = re.compile(r"`([^`\n]+)`")
_FOLDERS = ("oomaudit/", "plugins/", "rules/", "tests/", "bench/", "docs/", "contrib/")


def page_skeleton() -> dict[str, str]:
    """The package the page shows: each block titled ``oomaudit-myapp/PATH``, one per file."""
    files: dict[str, str] = {}
    for title, body in _BLOCK.findall(TEXT):
        if title.startswith(SKELETON):
            assert title not in files, f"{title} shown twice"
            files[title.removeprefix(SKELETON)] = body
    return files


def test_add_a_plugin_shows_what_new_plugin_writes():
    shown = page_skeleton()
    written = render("myapp")
    assert sorted(shown) == sorted(written)
    for path, text in written.items():
        assert shown[path] == text, f"docs/architecture.md shows another {path}"


def test_add_a_plugin_shows_what_new_plugin_prints(oomaudit):
    [printed] = _CONSOLE.findall(TEXT)
    proc = oomaudit("new-plugin", "myapp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == printed


def _named_paths() -> set[str]:
    """Paths of the repository the page names in backticks (``plugins/swap/rules.py``,
    ``rules/*.toml``); not placeholders (``NAME``, ``AREA``) or the scaffold's own files."""
    names = set()
    for ticked in _TICKED.findall(TEXT):
        for word in ticked.split():
            word = word.rstrip(",.;:)")
            if word.startswith(_FOLDERS) and not re.search(r"NAME|AREA|<", word):
                names.add(word)
    return names


def test_every_path_it_names_exists():
    assert len(_named_paths()) > 40
    missing = [name for name in sorted(_named_paths())
               if not (list(REPO.glob(name.rstrip("/"))) if "*" in name
                       else (REPO / name).exists())]
    assert missing == [], f"docs/architecture.md names what is not there: {missing}"


def _rows() -> dict[str, str]:
    """Each table row by the first thing it names: ``oomaudit/host.py`` -> the row."""
    rows = {}
    for line in TEXT.splitlines():
        match = re.match(r"\| `([^`]+)`", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_module_is_on_the_map():
    """Each engine module has a row (or shares one); each module of a parser, command or
    plugin is named in its folder's row; each built-in plugin has a row of its own."""
    rows, ticked = _rows(), set(_TICKED.findall(TEXT))
    absent = []
    for path in sorted((REPO / "oomaudit").glob("*.py")):
        name = f"oomaudit/{path.name}"
        if path.stem not in ("__init__", "__main__") and name not in ticked:
            absent.append(name)
    for folder in ("commands", "parsers"):
        row = rows[f"oomaudit/{folder}/"]
        absent += [f"oomaudit/{folder}/{p.name}" for p in sorted((REPO / "oomaudit" / folder)
                                                                .glob("*.py"))
                   if p.stem != "__init__" and f"`{p.name}`" not in row]
    for package in sorted(p.parent for p in (REPO / "plugins").glob("*/__init__.py")):
        row = rows.get(f"plugins/{package.name}/")
        if row is None:
            absent.append(f"plugins/{package.name}/ (a row in the plugin table)")
            continue
        absent += [f"plugins/{package.name}/{p.name}" for p in sorted(package.glob("*.py"))
                   if p.stem not in ("__init__", "constants") and f"`{p.name}`" not in row]
    assert absent == [], ("docs/architecture.md does not name these: add each to the module "
                          f"table, its folder's row or the plugin table: {absent}")


def test_the_conventions_are_the_ones_the_architecture_test_checks():
    """tests/test_architecture.py's limits and phrase, as the page states them."""
    checks = (REPO / "tests" / "test_architecture.py").read_text(encoding="utf-8")
    limits = re.search(r"MAX_LINES, EXPLAIN_ABOVE = (\d+), (\d+)", checks).groups()
    assert f"over {limits[0]} lines" in TEXT and f"one over {limits[1]}" in TEXT
    assert '"one concern" not in' in checks and '"One concern: ..."' in TEXT
