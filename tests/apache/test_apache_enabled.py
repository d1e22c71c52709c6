"""What Debian enables, not what it ships: in a repository holding Debian's /etc/apache2,
only what the ``*-enabled`` folders link is in force; an ``*-available`` folder alone is
judged as fragments. Under ``scan --root`` apache2.conf's includes decide.
(The annotated fixture ``fixtures/debian-enabled`` holds the verdicts line by line.)"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import assert_no_traceback

FIXTURE = Path(__file__).resolve().parent / "fixtures/debian-enabled"


def _report(proc) -> dict:
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _apaches(report: dict) -> list[str]:
    """Where each apache in the ledger was read from, relative to its etc/apache2."""
    return sorted(c["source"].split("apache2/", 1)[1] for h in report["hosts"]
                  for c in h["ledger"] if c["service"] == "apache")


def _tree(tmp_path: Path, *keep: str) -> Path:
    """The fixture's /etc/apache2 with only the entries ``keep`` names."""
    etc = tmp_path / "etc/apache2"
    etc.mkdir(parents=True)
    for name in keep:
        if (FIXTURE / "etc/apache2" / name).is_dir():
            shutil.copytree(FIXTURE / "etc/apache2" / name, etc / name, symlinks=True)
        else:
            shutil.copy(FIXTURE / "etc/apache2" / name, etc / name)
    return etc


def test_a_repository_holding_both_is_judged_on_the_enabled_set(oomaudit):
    """One apache, the enabled event MPM; prefork and worker, available beside it, are
    alternatives nobody runs (each was an apache of its own in the ledger before)."""
    report = _report(oomaudit("check", FIXTURE, "--ram", "2G", "--format", "json"))
    assert _apaches(report) == ["mods-enabled/mpm_event.conf:10"]
    assert {(Path(f["path"]).name, f["rule"]) for f in report["findings"]
            if f["rule"].startswith(("HTTPD", "CONF"))} == {("mpm_event.conf", "HTTPD001")}


def test_enabled_links_without_the_main_file_count_each_module_once(oomaudit, tmp_path):
    """An etckeeper copy of mods-* alone: the enabled link and the file it links to are one
    file, and mpm_event.load with mpm_event.conf one module: one apache, not four."""
    _tree(tmp_path, "mods-available", "mods-enabled")
    report = _report(oomaudit("check", tmp_path, "--ram", "2G", "--format", "json"))
    assert _apaches(report) == ["mods-enabled/mpm_event.conf:10"]


def test_without_enabled_folder_the_main_file_decides(oomaudit, tmp_path):
    """apache2.conf includes only mods-enabled/, which this repository lacks: no module of
    mods-available is loaded, so none of their MPMs is judged (httpd would assume none)."""
    _tree(tmp_path, "apache2.conf", "ports.conf", "mods-available")
    report = _report(oomaudit("check", tmp_path, "--ram", "2G", "--format", "json"))
    assert not [f for f in report["findings"] if f["rule"].startswith("HTTPD")]
    assert all("mods-available" not in s for s in _apaches(report))


def test_available_files_alone_are_judged_as_fragments(oomaudit, tmp_path):
    """Only mods-available: nothing says what is enabled, so each file is a fragment, its
    MPM named by its file: prefork's 400 children x 16 MiB do not fit 2 GiB."""
    _tree(tmp_path, "mods-available")
    report = _report(oomaudit("check", tmp_path / "etc/apache2/mods-available/mpm_prefork.conf",
                              "--ram", "2G", "--format", "json"))
    assert [(Path(f["path"]).name, f["rule"]) for f in report["findings"]
            if f["rule"].startswith("HTTPD")] == [("mpm_prefork.conf", "HTTPD001")]


def test_scan_root_follows_apache2_conf(oomaudit, tmp_path):
    """Under --root the main file is followed and its includes decide: the same single
    apache as in the repository."""
    _tree(tmp_path, *os.listdir(FIXTURE / "etc/apache2"))
    report = _report(oomaudit("scan", "--root", tmp_path, "--ram", "2G", "--format", "json",
                              "--select", "HTTPD,CONF"))
    assert _apaches(report) == ["mods-enabled/mpm_event.conf:10"]
    assert [f["rule"] for f in report["findings"]] == ["HTTPD001"]
