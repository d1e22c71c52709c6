"""Debian's shipped Redis (the redis-server package, fetched with apt-get download and
unpacked with dpkg-deb -x, cached per version) on a 4 GiB profile: no finding above low and
no CONF finding; and the ledger's Redis entry beside MySQL's, each with its arithmetic."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from debian_packages import unpacked

PACKAGE = "redis-server"


@pytest.fixture(scope="module")
def debian() -> Path:
    return unpacked(PACKAGE, "etc/redis/redis.conf")


def test_on_a_4g_profile_nothing_above_low_and_no_conf_finding(oomaudit, debian):
    proc = oomaudit("scan", "--root", debian, "--ram", "4G", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    assert not [f for f in report["findings"]
                if f["severity"] not in ("info", "low") or f["rule"].startswith("CONF")]
    # no maxmemory (low), and the kernel's default overcommit mode 0 (low)
    assert sorted(f["rule"] for f in report["findings"] if f["rule"].startswith("REDIS")) == [
        "REDIS001", "REDIS004"]
    [redis] = [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "redis"]
    assert redis["bytes"] == 0 and redis["source"].endswith("etc/redis/redis.conf")


def test_budget_shows_each_service_with_its_arithmetic(oomaudit, tmp_path):
    """Redis (maxmemory 2gb, RDB on) beside MySQL in one budget, each with how its number
    was computed, down to Redis's line (tests/jvm adds a JVM: issue 17's done-when)."""
    (tmp_path / "etc/redis").mkdir(parents=True)
    (tmp_path / "etc/mysql").mkdir(parents=True)
    (tmp_path / "etc/redis/redis.conf").write_text("maxmemory 2gb\nsave 900 1\n")
    (tmp_path / "etc/mysql/my.cnf").write_text(
        "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 100\n")
    proc = oomaudit("budget", "--root", tmp_path, "--ram", "16G")
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[4:]}
    assert re.match(r"  redis +4\.0 GiB +25\.0% +maxmemory 2\.0 GiB \(the dataset as Redis "
                    r"counts it\) \+ up to 2\.0 GiB copied on write while a fork runs \(RDB "
                    r"snapshots: save 900 1 \(etc/redis/redis\.conf:2\)\) "
                    r"\(etc/redis/redis\.conf:1\)$", rows["redis"]), proc.stdout
    assert "server buffers + 100 connections x" in rows["mysql"] and "MySQLTuner" in \
        rows["mysql"], proc.stdout
    report = json.loads(oomaudit("budget", "--root", tmp_path, "--ram", "16G", "--format",
                                 "json").stdout)
    assert [c["service"] for c in report["hosts"][0]["consumers"]] == ["mysql", "redis"]
