"""HTTPD001-HTTPD003 end to end: annotated fixtures through the real CLI (each folder is a
host of its own RAM, .oomaudit.toml), the issue's "Done when" points, the memory ledger,
and the real-world Apache configs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_shared

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# An annotation on a line of its own names the next line (a comment after a directive
# is an argument to httpd).
ANNOTATION = re.compile(r"^\s*#\s*(expect|ok):\s*((?:HTTPD|CONF)\d{3})\s*$")


def _json(proc) -> dict:
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def run_check(*args: str, cwd: Path = FIXTURES) -> dict:
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", *args, "--format", "json"],
                          cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    return _json(proc)


def _annotations(folder: Path):
    """(path, line, expect/ok, rule): annotations name the next line that is not one."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        pending = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = ANNOTATION.match(line)
            if m:
                pending.append((m.group(1), m.group(2)))
                continue
            yield from ((path, number, kind, rule) for kind, rule in pending)
            pending = []


@pytest.fixture(scope="module")
def fixtures_report() -> dict:
    return run_check(".", "--select", "HTTPD,CONF")


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_annotated_fixtures(fixtures_report, case):
    folder = FIXTURES / case
    found = {(Path(FIXTURES, f["path"]).resolve(), f["line"], f["rule"])
             for f in fixtures_report["findings"]
             if f["path"] and folder in Path(FIXTURES, f["path"]).resolve().parents}
    expected, unwanted = set(), set()
    for path, line, kind, rule in _annotations(folder):
        (expected if kind == "expect" else unwanted).add((path.resolve(), line, rule))
    assert expected or unwanted, f"{case} has no annotations"
    assert expected <= found, f"missing: {expected - found}"
    assert not unwanted & found, f"unexpected: {unwanted & found}"
    assert {f for f in found if f[2].startswith("HTTPD")} <= expected, found - expected


def _findings(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def test_prefork_400_on_2g_fires_httpd001_with_the_fix_that_fits(fixtures_report):
    """Done when: prefork MaxRequestWorkers 400 on a 2 GiB profile fires HTTPD001."""
    [finding] = [f for f in _findings(fixtures_report, "HTTPD001")
                 if "httpd001-prefork" in f["path"]]
    assert finding["severity"] == "high"
    assert "400 processes x 16.0 MiB" in finding["message"]
    evidence = " | ".join(e["what"] for e in finding["evidence"])
    assert "MPM: prefork" in evidence and "RAM = 2.0 GiB" in evidence
    assert "= 2.0 GiB left for Apache" in evidence
    assert finding["fix"].startswith("MaxRequestWorkers 128 ")  # 2 GiB // 16 MiB


def test_event_500_with_serverlimit_16_says_400_is_effective(fixtures_report):
    """Done when: MaxRequestWorkers 500 under event with ServerLimit 16 fires HTTPD002."""
    [finding] = _findings(fixtures_report, "HTTPD002") and [
        f for f in _findings(fixtures_report, "HTTPD002") if "httpd002-event" in f["path"]]
    assert "silently uses 400" in finding["message"]
    assert any("AH00515: WARNING: MaxRequestWorkers of 500 would require 20 servers and would "
               "exceed ServerLimit of 16, decreasing to 400." in e["what"]
               for e in finding["evidence"])
    assert finding["fix"].startswith("MaxRequestWorkers 400")


def test_other_services_are_subtracted(tmp_path):
    """HTTPD001 uses the RAM the ledger leaves: a MySQL server on the same host takes its
    worst case first, and the evidence shows the subtraction."""
    (tmp_path / "mpm_prefork.conf").write_text(
        "<IfModule mpm_prefork_module>\nMaxRequestWorkers 100\n</IfModule>\n")
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n"
                                     "max_connections = 10\n")
    report = run_check(str(tmp_path), "--ram", "3G", "--select", "HTTPD", cwd=tmp_path)
    [finding] = _findings(report, "HTTPD001")  # 1.6 GiB alone would fit in 3 GiB
    evidence = [e["what"] for e in finding["evidence"]]
    assert "RAM = 3.0 GiB" in evidence and any(e.startswith("- mysql: ") for e in evidence)
    assert any(e.endswith(" left for Apache") for e in evidence), evidence
    ledger = report["hosts"][0]["ledger"]
    assert {c["service"] for c in ledger} == {"mysql", "apache"}
    [apache] = [c for c in ledger if c["service"] == "apache"]
    assert apache["bytes"] == 100 * 16 * 1024 * 1024


def test_mysql_sees_the_web_tier(tmp_path):
    """The reader is registered as "apache": MYSQL001 counts it as a web tier."""
    (tmp_path / "mpm_prefork.conf").write_text(
        "<IfModule mpm_prefork_module>\nMaxRequestWorkers 10\n</IfModule>\n")
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 5G\n")
    report = run_check(str(tmp_path), "--ram", "8G", "--select", "MYSQL001", cwd=tmp_path)
    [finding] = _findings(report, "MYSQL001")
    assert any("apache configured" in e["what"] for e in finding["evidence"])


def test_a_vhost_alone_is_not_judged_on_defaults_but_an_mpm_fragment_is(tmp_path):
    """A pre-commit run on a changed vhost sees that file only: the MPM's capacity is set
    where the main config is, so HTTPD001 says it cannot know instead of judging defaults."""
    (tmp_path / "apache2" / "sites-enabled").mkdir(parents=True)
    (tmp_path / "apache2" / "sites-enabled" / "shop.conf").write_text(
        "<VirtualHost *:80>\n  ServerName shop\n</VirtualHost>\n")
    report = run_check("--ram", "1G", "apache2/sites-enabled/shop.conf", cwd=tmp_path)
    assert report["findings"] == [] and report["errors"] == []
    [run] = [r for r in report["rules"] if r["rule"] == "HTTPD001"]
    assert run["status"] == "skipped" and "main configuration decides" in run["detail"]
    (tmp_path / "apache2" / "mods-enabled").mkdir()
    (tmp_path / "apache2" / "mods-enabled" / "mpm_prefork.conf").write_text(
        "<IfModule mpm_prefork_module>\n  MaxRequestWorkers 150\n</IfModule>\n")
    report = run_check("--ram", "1G", "apache2/mods-enabled/mpm_prefork.conf", cwd=tmp_path)
    assert [(f["rule"], f["line"]) for f in report["findings"]
            if f["rule"].startswith("HTTPD")] == [("HTTPD001", 2)]


def test_realworld_apache(oomaudit):
    """Every real Apache config: no traceback, exit 0/1, no reader error, sensible
    findings (the MPM each one runs is named, worst cases are positive)."""
    folder = need_shared("realworld", "apache")
    report = run_check(str(folder), "--ram", "2G", cwd=folder)
    assert report["errors"] == []
    httpd001 = _findings(report, "HTTPD001")
    assert httpd001 and all(re.search(r"\((prefork|worker|event): \d+ processes", f["message"])
                            for f in httpd001)
    # kamipo's apache2.conf: event with ServerLimit 64 x ThreadsPerChild 64 = 4096 workers
    assert any("kamipo" in f["path"] and "64 processes" in f["message"] for f in httpd001)
    # a Jinja template's placeholders are skipped, never read as numbers
    template = need_shared("realworld", "ansible",
                           "Aplyca__ansible-role-apache__templates__mpm_prefork.conf.j2")
    report = run_check(str(template), "--ram", "2G", cwd=folder)
    assert [f for f in report["findings"] if f["rule"].startswith(("HTTPD", "CONF"))] == []


def test_declared_process_size(tmp_path):
    """process-sizes = { apache = ... } in the host profile replaces the default."""
    (tmp_path / ".oomaudit.toml").write_text(
        '[[hosts]]\npaths = ["**"]\nram = "2G"\nprocess-sizes = { apache = "40M" }\n')
    (tmp_path / "mpm_prefork.conf").write_text(
        "<IfModule mpm_prefork_module>\nMaxRequestWorkers 100\n</IfModule>\n")
    report = run_check(".", "--select", "HTTPD", cwd=tmp_path)
    [apache] = [c for c in report["hosts"][0]["ledger"] if c["service"] == "apache"]
    assert apache["bytes"] == 100 * 40 * 1024 * 1024
    assert "declared per-process size" in apache["how"]
    [finding] = _findings(report, "HTTPD001")
    assert any("process-sizes" in e["source"] for e in finding["evidence"])


def test_mod_php_adds_memory_limit_from_its_php_ini(tmp_path, oomaudit):
    """Under --root, mod_php's children are PHP interpreters bounded by the apache2 SAPI's
    php.ini (conf.d last): 16 MiB + 256M each."""
    etc = tmp_path / "etc"
    (etc / "apache2").mkdir(parents=True)
    (etc / "apache2" / "apache2.conf").write_text(
        "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so\n"
        "LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n"
        "MaxRequestWorkers 10\nMaxConnectionsPerChild 0\n")
    (etc / "php/8.2/apache2/conf.d").mkdir(parents=True)
    (etc / "php/8.2/apache2/php.ini").write_text("[PHP]\nmemory_limit = 128M\n")
    (etc / "php/8.2/apache2/conf.d/90-big.ini").write_text("memory_limit = 256M\n")
    proc = oomaudit("scan", "--root", str(tmp_path), "--ram", "2G", "--format", "json",
                    "--select", "HTTPD")
    report = _json(proc)
    [apache] = [c for c in report["hosts"][0]["ledger"] if c["service"] == "apache"]
    assert apache["bytes"] == 10 * (16 + 256) * 1024 * 1024
    assert "PHP memory_limit 256.0 MiB" in apache["how"]
    [finding] = _findings(report, "HTTPD003")
    assert finding["line"] == 4 and finding["fix"].startswith("MaxConnectionsPerChild 1000")
