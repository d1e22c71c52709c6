"""Live memory: HOST001 thresholds (configurable), /proc/meminfo, the kill order table, and
what a live scan reports on this machine, as root and unprivileged."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import IN_CI, assert_no_traceback
from oomaudit.plugins import memory
from oomaudit.plugins.memory.killorder import kill_order
from oomaudit.plugins.memory.meminfo import parse_meminfo

from oomaudit import config
from oomaudit.errors import UsageError
from oomaudit.host import LIVE, ROOT, Host
from oomaudit.processes import Proc

GiB = 1 << 30


def proc(pid, score, rss=100 << 20, adj=0, cgroup="/system.slice/x.service") -> Proc:
    return Proc(pid, f"p{pid}", (), rss, cgroup, adj, score, 0)


def test_kill_order_leaves_out_what_the_kernel_never_kills():
    procs = [proc(1, 900), proc(2, 10, rss=None), proc(3, 50, rss=0), proc(4, 999, adj=-1000),
             proc(5, 300), proc(6, 700), proc(7, 300, rss=200 << 20), proc(8, 990)]
    order = kill_order(procs, me=8)
    assert [p.pid for p in order] == [6, 7, 5]
    assert order[0].unit == "x.service"


def test_meminfo_units():
    info = parse_meminfo("MemTotal:  1000 kB\nHugePages_Total:  3\nBogus: x\n")
    assert info == {"MemTotal": 1024000, "HugePages_Total": 3}


def live(info: dict, settings=None) -> Host:
    host = Host("live", LIVE, Path("/"), settings)
    host.cache["meminfo"] = info
    return host


def test_host001_memory_above_the_default_threshold():
    host = live({"MemTotal": 16 * GiB, "MemAvailable": 2 * GiB, "SwapTotal": 0})
    [finding] = memory.check_host001(host)
    assert "87.5%" in finding.message and "85%" in finding.message
    evidence = " | ".join(map(str, finding.evidence))
    assert "MemTotal = 16.0 GiB" in evidence and "MemAvailable = 2.0 GiB" in evidence


def test_host001_below_threshold_and_not_live():
    assert list(memory.check_host001(live({"MemTotal": 16 * GiB,
                                           "MemAvailable": 4 * GiB}))) == []
    host = Host("tree", ROOT, Path("/nonexistent"))
    host.cache["meminfo"] = {"MemTotal": 16 * GiB, "MemAvailable": 0}
    assert list(memory.check_host001(host)) == []


def test_host001_thresholds_come_from_the_config(tmp_path):
    path = tmp_path / ".oomaudit.toml"
    path.write_text("memory-alert-percent = 95\nswap-alert-percent = 10\n")
    settings = config.load(path)
    host = live({"MemTotal": 16 * GiB, "MemAvailable": 2 * GiB,
                 "SwapTotal": 4 * GiB, "SwapFree": 3 * GiB}, settings)
    [finding] = memory.check_host001(host)  # 87.5% < 95%; swap 25% > 10%
    assert finding.message.startswith("swap in use 25.0%")
    assert any(str(path) in str(e) for e in finding.evidence)


@pytest.mark.parametrize("text", ['memory-alert-percent = "85"', "memory-alert-percent = 0",
                                  "swap-alert-percent = 101", "memory-alert-percent = true"])
def test_bad_threshold_is_a_config_error_with_its_line(tmp_path, text):
    path = tmp_path / ".oomaudit.toml"
    path.write_text(f'fail-on = "low"\n{text}\n')
    with pytest.raises(UsageError, match=r"\.oomaudit\.toml:2: '(memory|swap)-alert-percent'"):
        config.load(path)


def scan_json(oomaudit_run, *args) -> dict:
    proc = oomaudit_run("scan", "--format", "json", "--exit-zero", *args)
    assert_no_traceback(proc)
    return json.loads(proc.stdout)


def test_done_when_live_scan_reports_kill_order_and_policy(oomaudit):
    report = scan_json(oomaudit)
    host = report["hosts"][0]
    kill = host["tables"]["kill_order"]
    assert 1 <= len(kill["rows"]) <= 5
    scores = [row[kill["columns"].index("oom_score")] for row in kill["rows"]]
    assert scores == sorted(scores, reverse=True)
    policy = {row[0]: row for row in host["tables"]["sysctl_policy"]["rows"]}
    kernel_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                     .splitlines() if line.startswith("CommitLimit:"))
    assert host["facts"]["commit_limit"]["value"] == kernel_kb * 1024
    assert policy["CommitLimit (computed)"][1] == policy["CommitLimit (kernel)"][1]
    assert policy["vm.overcommit_memory"][1] == int(
        Path("/proc/sys/vm/overcommit_memory").read_text())
    init = Path("/proc/1/comm").read_text().strip()
    if init != "systemd":  # says how it judged what it cannot know
        assert f"PID 1 is {init}, not systemd" in policy["applied at boot by"][2]
    assert not [e for e in report["errors"] if "sysctl" in e or "memory" in e]


def test_unprivileged_scan_reads_what_it_can_and_says_what_it_skipped(oomaudit):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        if IN_CI:
            pytest.fail("this test drops root with setpriv (util-linux); CI runs as root")
        pytest.skip("needs root and setpriv to run as nobody")
    tree = Path(tempfile.mkdtemp(prefix="oomaudit-sysctl-"))
    try:
        (tree / "etc/sysctl.d").mkdir(parents=True)
        secret = tree / "etc/sysctl.d/10-secret.conf"
        secret.write_text("vm.overcommit_memory = 1\n")
        (tree / "etc/sysctl.d/20-open.conf").write_text("vm.panic_on_oom = 1\n")
        secret.chmod(0o600)
        for folder in (tree, tree / "etc", tree / "etc/sysctl.d"):
            folder.chmod(0o755)
        drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {**os.environ, "NO_COLOR": "1"}
        probe = subprocess.run([*drop, sys.executable, "-c", "import oomaudit"], cwd="/",
                               env=env, capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:  # a Python (or its libpython) under root's 0700 home
            (pytest.fail if IN_CI else pytest.skip)(
                f"nobody cannot run this Python: {probe.stderr.strip()}")
        run = subprocess.run(
            [*drop, sys.executable, "-m", "oomaudit", "scan", "--root", str(tree), "--ram",
             "8G", "--format", "json"], capture_output=True, text=True, cwd="/", env=env,
            timeout=120)
        assert_no_traceback(run)
        found = json.loads(run.stdout)["findings"]
        rules = {(f["rule"], Path(f["path"] or "").name) for f in found}
        assert ("CONF003", "10-secret.conf") in rules  # said what it skipped
        assert ("SYSCTL003", "20-open.conf") in rules  # and audited the rest
        live = subprocess.run([*drop, sys.executable, "-m", "oomaudit", "scan", "--format",
                               "json", "--exit-zero"], capture_output=True, text=True,
                              cwd="/", env=env, timeout=120)
        assert_no_traceback(live)
        report = json.loads(live.stdout)
        assert {"kill_order", "sysctl_policy"} <= set(report["hosts"][0]["tables"])
        assert not [e for e in report["errors"] if "sysctl" in e or "memory" in e]
    finally:
        shutil.rmtree(tree)
