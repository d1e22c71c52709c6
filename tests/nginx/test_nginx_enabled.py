"""What Debian enables, not what it ships: in a repository holding Debian's /etc/nginx, a
site of sites-available/ that sites-enabled/ does not link is never read, and a site or
snippet alone is a fragment (no ``events`` block: nginx starts no workers from it)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import assert_no_traceback

from oomaudit.confine import JAIL, Tree
from oomaudit.enabled import in_force

FIXTURE = Path(__file__).resolve().parent / "fixtures/debian-sites"


def _report(proc) -> dict:
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _nginx(report: dict) -> list[tuple[str, int]]:
    """Each nginx in the ledger: (the file it was read from, its bytes)."""
    return [(Path(c["source"].split(":")[0]).name, c["bytes"]) for h in report["hosts"]
            for c in h["ledger"] if c["service"] == "nginx"]


def test_a_repository_is_judged_on_the_main_file_and_the_enabled_sites(oomaudit):
    """nginx.conf's 4 workers, once; the retired site (a lost brace nginx would reject) is
    not read, and the sites and snippets are no nginx of their own (each was 1 default
    worker x 16 MiB in the ledger before, and old-shop a high CONF001)."""
    report = _report(oomaudit("check", FIXTURE, "--ram", "4G", "--format", "json"))
    assert _nginx(report) == [("nginx.conf", 4 * 16 << 20)]
    assert not [f for f in report["findings"] if f["rule"] == "CONF001"]


def test_a_site_alone_is_a_fragment_that_runs_no_workers(oomaudit, tmp_path):
    shutil.copy(FIXTURE / "etc/nginx/sites-available/default", tmp_path / "default")
    report = _report(oomaudit("check", tmp_path / "default", "--ram", "4G", "--format", "json"))
    assert report["errors"] == [] and _nginx(report) == []


def test_links_as_nginx_postinst_and_an_operator_write_them(tmp_path):
    """nginx's postinst links by the host's absolute path, a2ensite and most operators by a
    relative one; a copy in sites-enabled is no link (the copy is what nginx reads)."""
    available, enabled = tmp_path / "nginx/sites-available", tmp_path / "nginx/sites-enabled"
    available.mkdir(parents=True)
    for name in ("default", "shop", "blog", "old"):
        (available / name).write_text("server {}\n")
    enabled.mkdir()
    os.symlink("/etc/nginx/sites-available/default", enabled / "default")
    os.symlink("../sites-available/shop", enabled / "shop")
    (enabled / "blog").write_text("server {}\n")
    fs = Tree(tmp_path, JAIL)
    assert [n for n in ("default", "shop", "blog", "old") if in_force(fs, available / n, ())] \
        == ["default", "shop"]
    shutil.rmtree(enabled)
    assert in_force(fs, available / "old", ("nginx.conf",))  # only sites-available: fragments
    (tmp_path / "nginx/nginx.conf").write_text("events {}\n")
    assert not in_force(fs, available / "old", ("nginx.conf",))  # the main file decides
