"""Our entry-point reader against importlib.metadata, on this environment and on made-up
site folders with the cases that matter: duplicates across and within folders, name
normalisation, comments, other groups, a distribution without entry points."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = textwrap.dedent("""
    import json, sys
    sys.path[:0] = json.loads(sys.argv[1])
    from importlib.metadata import entry_points
    from oomaudit.entrypoints import entry_points as ours
    eps = entry_points()
    theirs = eps.select(group="oomaudit") if hasattr(eps, "select") else eps.get("oomaudit", [])
    print(json.dumps([sorted((e.name, e.value) for e in theirs),
                      sorted((e.name, e.value) for e in ours("oomaudit"))]))
""")


def _compare(path: list[str]):
    """Both readers' view of the group with ``path`` put in front of the usual sys.path."""
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    theirs, ours = json.loads(proc.stdout)
    return theirs, ours


def test_same_as_importlib_metadata_here():
    theirs, ours = _compare([])
    assert ours == theirs
    assert ("swap", "oomaudit.plugins.swap") in [tuple(e) for e in ours]


def _dist(site: Path, folder: str, text: str | None) -> None:
    (site / folder).mkdir(parents=True)
    name = folder.split("-")[0]
    (site / folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\n")
    if text is not None:
        (site / folder / "entry_points.txt").write_text(textwrap.dedent(text))


def test_same_as_importlib_metadata_on_made_up_sites(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(first, "Acme_Plugin-1.0.dist-info", """
        [console_scripts]
        acme = acme:main
        [oomaudit]
        # a comment
        acme = acme.rules
          spaced  =  acme.spaced : plugin  [extra]
        """)
    _dist(second, "acme.plugin-2.0.dist-info", "[oomaudit]\nacme = acme.newer\n")  # shadowed
    _dist(second, "other-1.0.egg-info", "[oomaudit]\nother = other.mod:obj\n")
    _dist(second, "plain-1.0.dist-info", None)
    theirs, ours = _compare([str(first), str(second), str(tmp_path / "missing")])
    assert ours == theirs
    names = [name for name, _ in ours]
    assert "spaced" in names and "other" in names and "acme" in names


def test_a_line_without_equals_is_skipped_not_fatal(tmp_path, monkeypatch):
    """importlib.metadata raises on such a line and would end plugin loading; one broken
    distribution must not take the others down."""
    from oomaudit.entrypoints import entry_points

    _dist(tmp_path, "odd-1.0.dist-info", "[oomaudit]\nno equals sign here\nok = odd.ok\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert [(e.name, e.value) for e in entry_points("oomaudit")] == [("ok", "odd.ok")]


def test_an_unreadable_or_undecodable_entry_points_file_is_skipped(tmp_path, monkeypatch):
    """A broken distribution (entry_points.txt a folder, or not UTF-8) costs its own entry
    points only."""
    from oomaudit.entrypoints import entry_points

    _dist(tmp_path, "folder-1.0.dist-info", None)
    (tmp_path / "folder-1.0.dist-info" / "entry_points.txt").mkdir()
    _dist(tmp_path, "latin-1.0.dist-info", None)
    (tmp_path / "latin-1.0.dist-info" / "entry_points.txt").write_bytes(
        b"[oomaudit]\nx = caf\xe9.mod\n")
    _dist(tmp_path, "fine-1.0.dist-info", "[oomaudit]\nfine = fine.mod\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert [(e.name, e.value) for e in entry_points("oomaudit")] == [("fine", "fine.mod")]
