"""MEMCACHED001-002 fired and not fired, the ledger's memcached entry (budget, HOST002),
and Debian's shipped memcached.conf (apt-get download, dpkg-deb -x) on a 4 GiB profile."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from debian_packages import unpacked

FIXTURES = Path(__file__).parent / "fixtures"
PACKAGE = "memcached"
GiB = 1 << 30


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def report(oomaudit, *args) -> dict:
    proc = oomaudit(*map(str, args), "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["errors"] == []
    return data


def rules(data: dict, prefix: str = "MEMCACHED") -> list[tuple[str, int | None]]:
    return [(f["rule"], f["line"]) for f in data["findings"] if f["rule"].startswith(prefix)]


def test_memcached001_sized_for_another_host(oomaudit, tmp_path):
    conf = shutil.copy(FIXTURES / "memcached-16g.conf", tmp_path / "memcached.conf")
    data = report(oomaudit, "check", conf, "--ram", "4G")
    assert rules(data) == [("MEMCACHED001", 4)]
    [finding] = [f for f in data["findings"] if f["rule"] == "MEMCACHED001"]
    assert finding["severity"] == "high"
    assert "16.0 GiB (-m 16384) is above this host's RAM 4.0 GiB" in finding["message"]
    assert [e["source"] for e in finding["evidence"]][:2] == ["memcached.conf:4", "declared: --ram"]
    assert finding["fix"].splitlines()[1] == "-m 3276"  # 80% of 4 GiB, in MiB
    # the finding is about -m, whatever its value: its fingerprint stays when the value moves
    conf.write_text(conf.read_text().replace("16384", "20000"))
    [moved] = [f for f in report(oomaudit, "check", conf, "--ram", "4G")["findings"]
               if f["rule"] == "MEMCACHED001"]
    assert moved["fingerprint"] == finding["fingerprint"]
    # the same file on a host with 32 GiB: nothing
    assert rules(report(oomaudit, "check", conf, "--ram", "32G")) == []


def test_memcached002_above_what_mysql_leaves(oomaudit, tmp_path):
    host = tree(tmp_path / "h", {"memcached.conf": "-m 2048\n",
                                 "my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 3G\n"})
    data = report(oomaudit, "check", host, "--ram", "4G")
    assert rules(data) == [("MEMCACHED002", 1)]
    [finding] = [f for f in data["findings"] if f["rule"] == "MEMCACHED002"]
    assert any(e["what"].startswith("- mysql: ") for e in finding["evidence"])
    left = 4 * GiB - next(c["bytes"] for c in data["hosts"][0]["ledger"]
                          if c["service"] == "mysql")
    assert finding["fix"].splitlines()[1] == f"-m {int(left * 0.8) >> 20}"
    # more RAM, or a smaller -m: it fits
    assert rules(report(oomaudit, "check", host, "--ram", "8G")) == []
    (host / "memcached.conf").write_text("-m 256\n")
    assert rules(report(oomaudit, "check", host, "--ram", "4G")) == []


def test_two_instances_each_leave_room_for_the_other(oomaudit, tmp_path):
    host = tree(tmp_path / "h", {"memcached.conf": "-m 1536\n",
                                 "memcached_sessions.conf": "-m 1536\n"})
    assert rules(report(oomaudit, "check", host, "--ram", "2G")) == [
        ("MEMCACHED002", 1), ("MEMCACHED002", 1)]
    assert rules(report(oomaudit, "check", host, "--ram", "4G")) == []


def test_refused_conf_is_conf001_and_not_in_the_ledger(oomaudit, tmp_path):
    conf = tree(tmp_path, {"memcached.conf": "-m 1g\n"}) / "memcached.conf"
    data = report(oomaudit, "check", conf, "--ram", "4G")
    assert rules(data, "") == [("CONF001", 1)]
    assert data["hosts"][0]["ledger"] == []


def test_the_ledger_and_budget_show_the_arithmetic(oomaudit, tmp_path):
    root = tree(tmp_path / "root", {"etc/memcached.conf": "-d\n-m 512 # half a gig\n"})
    data = report(oomaudit, "scan", "--root", root, "--ram", "4G")
    [entry] = [c for c in data["hosts"][0]["ledger"] if c["service"] == "memcached"]
    assert entry["bytes"] == 512 << 20 and entry["source"].endswith("etc/memcached.conf:2")
    assert entry["how"].startswith("-m 512: item memory 512.0 MiB")
    proc = oomaudit("budget", "--root", root, "--ram", "4G")
    assert proc.returncode == 0 and re.search(r"^  memcached +512\.0 MiB +12\.5% +-m 512",
                                              proc.stdout, re.M), proc.stdout
    # without -m: memcached's 64 MiB, and HOST002 sees it with the rest
    (root / "etc/memcached.conf").write_text("-m 8192\n")
    data = report(oomaudit, "scan", "--root", root, "--ram", "4G")
    assert ("HOST002", None) in rules(data, "HOST") and rules(data) == [("MEMCACHED001", 1)]


@pytest.fixture(scope="module")
def debian() -> Path:
    return unpacked(PACKAGE, "etc/memcached.conf")


def test_debians_shipped_config_on_4g_gives_nothing_above_low(oomaudit, debian, tmp_path):
    """What the package installs: /etc/memcached.conf is its postinst's copy of
    /usr/share/memcached/memcached.conf.default, made the same way here."""
    root = tmp_path / "root"
    shutil.copytree(debian, root, symlinks=True)
    shutil.copy(root / "usr/share/memcached/memcached.conf.default", root / "etc/memcached.conf")
    data = report(oomaudit, "scan", "--root", root, "--ram", "4G")
    assert not [f for f in data["findings"]
                if f["severity"] not in ("info", "low") or f["rule"].startswith("CONF")]
    [entry] = [c for c in data["hosts"][0]["ledger"] if c["service"] == "memcached"]
    assert entry["bytes"] == 64 << 20 and entry["source"].endswith("etc/memcached.conf:23")


def test_a_compose_service_and_a_pod_with_m_above_their_limit(oomaudit, tmp_path):
    """CONTAINER003 reads -m with the same getopt and atoi (plugins/containers/needs.py)."""
    compose = tree(tmp_path, {"compose.yaml": (
        "services:\n  cache:\n    image: memcached:1.6\n    command: memcached -m 4096\n"
        "    mem_limit: 1g\n  small:\n    image: memcached\n    command: [\"-vm\", \"512\"]\n"
        "    mem_limit: 1g\n")}) / "compose.yaml"
    data = report(oomaudit, "check", compose, "--ram", "16G")
    [finding] = [f for f in data["findings"] if f["rule"] == "CONTAINER003"]
    assert finding["line"] == 4 and "memcached 4.0 GiB" in finding["message"]
    assert finding["fix"].endswith("or fit the service to the limit: -m 819")
    pod = tree(tmp_path, {"pod.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: cache\nspec:\n  containers:\n"
        "  - name: memcached\n    image: memcached:1.6\n    args: [\"-m\", \"2048\"]\n"
        "    resources:\n      limits:\n        memory: 1Gi\n")}) / "pod.yaml"
    assert [(f["rule"], f["line"]) for f in report(oomaudit, "check", pod)["findings"]
            if f["rule"] == "CONTAINER003"] == [("CONTAINER003", 9)]


def test_a_unit_running_memcached_with_its_options(oomaudit, tmp_path):
    """A unit whose ExecStart runs memcached itself is an instance; Debian's unit runs the
    wrapper, whose instance is its memcached.conf's, counted once."""
    root = tree(tmp_path / "root", {
        "etc/systemd/system/sessions.service": (
            "[Unit]\nDescription=sessions\n[Service]\nExecStart=/usr/bin/memcached -u "
            "memcache -m 8192 -p 11212\n[Install]\nWantedBy=multi-user.target\n"),
        "lib/systemd/system/memcached.service": (
            "[Unit]\nDescription=memcached daemon\n[Service]\nExecStart=/usr/share/memcached/"
            "scripts/systemd-memcached-wrapper /etc/memcached.conf\n[Install]\n"
            "WantedBy=multi-user.target\n"),
        "etc/memcached.conf": "-m 64\n"})
    data = report(oomaudit, "scan", "--root", root, "--ram", "4G")
    assert sorted((c["bytes"] >> 20, c["source"].rsplit("/", 1)[-1])
                  for c in data["hosts"][0]["ledger"] if c["service"] == "memcached") == [
        (64, "memcached.conf:1"), (8192, "sessions.service:4")]
    # the unit's 8 GiB is above RAM; it leaves the 64 MiB of memcached.conf nothing
    assert sorted(rules(data)) == [("MEMCACHED001", 4), ("MEMCACHED002", 1)]
    [finding] = [f for f in data["findings"] if f["rule"] == "MEMCACHED001"]
    assert finding["message"].startswith("sessions.service: memcached's item memory 8.0 GiB")
    assert finding["fix"].splitlines()[1] == "-m 3225"  # 80% of 4 GiB less the 64 MiB
    (root / "etc/systemd/system/sessions.service").write_text(
        "[Service]\nExecStart=/usr/bin/memcached -m 1024\n")
    assert rules(report(oomaudit, "scan", "--root", root, "--ram", "4G")) == []
