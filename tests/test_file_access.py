"""One way to touch audited files (issue 12.1), checked on the source.

Every read of an audited path (configs, includes, drop-in folders, globs, logs, the
repository's config) goes through ``oomaudit/confine.py``: a ``Tree`` (``host.fs``) for the
files of a host; ``oomaudit/procfs.py`` reads the live kernel's ``/proc`` and ``/sys``. This
test fails when any other module of oomaudit/ or plugins/ opens, lists, globs or stats a
path itself: the call a reviewer would have to catch by eye.

A few modules touch files that are not audited input, and say so here with the reason; a
new entry needs one as good.
"""
from __future__ import annotations

import ast

from conftest import REPO

LAYER = {"oomaudit/confine.py", "oomaudit/procfs.py"}

NOT_AUDITED = {
    "oomaudit/output.py": "writes the report the operator asked for (--output)",
    "oomaudit/entrypoints.py": "reads installed packages' entry points (*.dist-info)",
    "oomaudit/catalogue.py": "reads our own rule catalogue from the installed package",
    "oomaudit/parsers/pgguc.py": "reads our own parameter table from the installed package",
    "oomaudit/commands/newplugin.py": "writes a new plugin where the operator asked",
    "oomaudit/baseline.py": "the operator's baseline file (--baseline), read capped",
    "oomaudit/facts.py": "the operator's facts file (--facts), read capped",
    "oomaudit/fleetfiles.py": "the fleet's report files, read as hostile input on their own "
                              "terms (open, fstat, cap: see its docstring)",
    "oomaudit/gittree.py": "writes git's copy of BASE into its own temporary folder",
    "oomaudit/commands/diff.py": "makes and removes diff's temporary folders",
    "oomaudit/commands/audit.py": "compares --output with the files the audit read",
    "oomaudit/invocation.py": "checks that the command line's paths exist (usage errors)",
    "oomaudit/logcursor.py": "its own state file (--state-dir)",
    "oomaudit/cli.py": "points stdout at /dev/null after a broken pipe",
    "oomaudit/commands/facts.py": "checks that the command line's --root is a folder",
    "oomaudit/fingerprint.py": "finds the git work tree holding the targets (a name test)",
    "oomaudit/fleet.py": "lists the fleet's report folder; fleetfiles.py reads each report",
}

# calls that touch a path, by the name called: builtins and module functions...
FUNCTIONS = {"open", "os.open", "io.open", "os.listdir", "os.scandir", "os.walk", "os.stat",
             "os.lstat", "os.readlink", "os.access", "os.path.exists", "os.path.lexists",
             "os.path.isfile", "os.path.isdir", "os.path.islink", "os.path.getsize",
             "os.path.realpath", "glob.glob", "glob.iglob"}
# ... and methods of pathlib.Path (any receiver but a Tree: `host.fs.is_file(p)` is the way)
METHODS = {"read_text", "read_bytes", "glob", "rglob", "iterdir", "stat", "lstat", "exists",
           "is_file", "is_dir", "is_symlink", "is_char_device", "is_fifo", "readlink",
           "samefile", "open"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _through_a_tree(receiver: ast.AST) -> bool:
    """``fs.x(...)``, ``host.fs.x(...)``, ``self.fs.x(...)``, ``_fs().x(...)`` (config.py's
    Tree of the working directory); and ``self.x()``, a class's own method (a loader's
    ``read_text`` callback), which no Path is."""
    name = _name(receiver.func if isinstance(receiver, ast.Call) else receiver)
    return name == "self" or name.split(".")[-1].strip("_") == "fs"


def _violations(path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        if called in FUNCTIONS:
            found.append(f"{called}() at line {node.lineno}")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in METHODS \
                and not _through_a_tree(node.func.value) and called not in FUNCTIONS:
            found.append(f".{node.func.attr}() at line {node.lineno}")
    return found


def test_only_the_confined_layer_touches_audited_paths():
    offenders = {}
    for root in ("oomaudit", "plugins"):
        for path in sorted((REPO / root).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel in LAYER or rel in NOT_AUDITED or "/scaffold/" in rel and rel.endswith(
                    "_template.py"):
                continue
            found = _violations(path)
            if found:
                offenders[rel] = found
    assert not offenders, (
        "these modules touch paths themselves; read through host.fs (oomaudit/confine.py "
        "Tree) or procfs.read_live, or add the module to NOT_AUDITED with why:\n"
        + "\n".join(f"{rel}: {', '.join(calls)}" for rel, calls in offenders.items()))


def test_every_exemption_is_a_module_that_exists():
    assert [rel for rel in NOT_AUDITED if not (REPO / rel).is_file()] == []


def test_the_check_sees_a_direct_open(tmp_path):
    """The scanner itself: a module that opens, lists or stats is caught; through a Tree
    it is not."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom pathlib import Path\n"
                   "def f(p):\n    open(p)\n    os.listdir(p)\n    Path(p).is_file()\n")
    good = tmp_path / "good.py"
    good.write_text("def f(host, p):\n    host.fs.read(p)\n    host.fs.is_file(p)\n"
                    "    setting.value.resolve(3)\n")
    assert len(_violations(bad)) == 3
    assert _violations(good) == []
