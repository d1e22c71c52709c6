"""Every real config of ../shared/realworld (public repositories, every format a later rule
family reads) through ``oomaudit check --format json``: no traceback, a report that
validates against the schema, exit code 0 or 1. Format-agnostic on purpose: a new reader
or rule family must keep this green for its files without touching this test."""
from __future__ import annotations

import pytest
from conftest import SHARED, need_shared
from engine_stub import json_report


def realworld_files() -> list:
    folder = SHARED / "realworld"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{folder} not present"))]
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [pytest.param(p, id=str(p.relative_to(folder))) for p in files]


def check_report(proc) -> dict:
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stderr == "", proc.stderr  # plugin/reader/rule errors are printed here
    report = json_report(proc)
    assert report["errors"] == []
    return report


@pytest.mark.parametrize("path", realworld_files())
def test_each_file(oomaudit, path):
    need_shared("realworld")
    check_report(oomaudit("check", str(path), "--format", "json"))


def test_whole_folder_at_once(oomaudit):
    folder = need_shared("realworld")
    report = check_report(oomaudit("check", str(folder), "--format", "json"))
    for finding in report["findings"]:
        if finding["path"] is not None:
            assert finding["path"].startswith(str(folder)), finding
            assert finding["line"] is None or finding["line"] >= 1


def test_whole_folder_with_declared_ram(oomaudit):
    """With RAM and swap declared, the rules that need them run too (and must not crash)."""
    folder = need_shared("realworld")
    report = check_report(oomaudit("check", str(folder), "--format", "json",
                                   "--ram", "8G", "--swap", "2G"))
    assert not [r for r in report["rules"] if r["status"] == "error"]
