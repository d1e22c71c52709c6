"""Kernel logs that cannot be read: never a hang, never outside the tree, always named, and
the KLOG rules skipped rather than passed (issue 12.1, 12.6)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI, as_nobody, assert_no_traceback

KILL = "Out of memory: Killed process {pid} ({name}) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n"


def run(*args: str, cwd: Path, user: list[str] = ()) -> subprocess.CompletedProcess:
    """The real CLI with a hang guard: a FIFO opened for reading would block forever."""
    proc = subprocess.run([*user, sys.executable, "-m", "oomaudit", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1", "HOME": str(cwd),
                               "OOMAUDIT_SYSTEM_CONFIG": str(cwd / "no-system-config.toml")})
    assert_no_traceback(proc)
    return proc


@pytest.mark.parametrize("make, why", [
    (lambda p: os.mkfifo(p), "not a regular file (FIFO, socket or device)"),
    (lambda p: p.symlink_to("/proc/kmsg"), "a file of /proc or /sys, not a log"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file (FIFO, socket or device)"),
    (lambda p: p.mkdir(), "not a regular file (a folder)"),
], ids=["fifo", "proc-kmsg", "device", "folder"])
def test_a_log_named_that_is_no_file_is_one_line_never_a_read(tmp_path, make, why):
    make(tmp_path / "kern.log")
    proc = run("logs", "kern.log", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"oomaudit: error: kern.log: {why}\n"


def _tree(tmp_path: Path) -> Path:
    """A tree whose kernel logs are a FIFO, a link to the host's /proc/kmsg and a link that
    climbs out of it to a log full of kills."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kern.log").write_text(KILL.format(pid=1, name="escaped"))
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    os.mkfifo(root / "var/log/kern.log")
    (root / "var/log/kern.log.1").symlink_to("/proc/kmsg")
    (root / "var/log/kern.log.2").symlink_to("../../../outside/kern.log")
    (root / "var/log/kern.log.3").symlink_to(outside / "kern.log")
    return root


def test_tree_logs_that_are_no_files_are_conf003_and_the_klog_rules_skipped(tmp_path):
    root = _tree(tmp_path)
    proc = run("scan", "--root", str(root), "--ram", "4G", "--select", "KLOG,CONF003",
               "--format", "json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    said = sorted(f["message"] for f in report["findings"])
    assert all(f["rule"] == "CONF003" for f in report["findings"]), said
    assert said == [
        "could not read root/var/log/kern.log.1: No such file or directory",
        "could not read root/var/log/kern.log.2: No such file or directory",
        "could not read root/var/log/kern.log.3: No such file or directory",
        "could not read root/var/log/kern.log: not a regular file (FIFO, socket or device)"
    ]  # each link resolved inside the tree, where nothing is
    runs = {r["rule"]: r for r in report["rules"] if r["rule"].startswith("KLOG")}
    assert {r["status"] for r in runs.values()} == {"skipped"}
    assert "no source of it could be read" in runs["KLOG001"]["detail"]
    assert "escaped" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("form, skipped", [
    ("text", "KLOG001, KLOG002 skipped: the kernel log unknown"),
    ("junit", '<skipped type="skipped" message="the kernel log unknown'),
    ("sarif", '"KLOG001 skipped: the kernel log unknown'),
])
def test_skipped_not_passed_in_every_format(tmp_path, form, skipped):
    proc = run("scan", "--root", str(_tree(tmp_path)), "--ram", "4G", "--select", "KLOG",
               "--format", form, cwd=tmp_path)
    assert proc.returncode == 0 and skipped in proc.stdout


def test_a_log_that_was_read_keeps_the_rules_running(tmp_path):
    """One readable source is enough: the rules judge what it holds, the rest is CONF003."""
    root = _tree(tmp_path)
    (root / "var/log/kern.log.3").unlink()
    (root / "var/log/kern.log.3").write_text(KILL.format(pid=2, name="inside"))
    report = json.loads(run("scan", "--root", str(root), "--ram", "4G", "--since", "all",
                            "--select", "KLOG", "--format", "json", cwd=tmp_path).stdout)
    assert [f["message"].split(" killed")[0] for f in report["findings"]] == ["inside"]
    assert {r["status"] for r in report["rules"]} == {"failed", "passed"}


# -- unprivileged: the journal, /dev/kmsg and kern.log need a group or a capability ---------
def _nobody(folder: Path) -> list[str]:
    """How to run as nobody, or a skip (outside CI) when this Python cannot be run so."""
    user = as_nobody()
    probe = subprocess.run([*user, sys.executable, "-c", "import oomaudit"], cwd=folder,
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:  # e.g. a Python under root's 0700 home
        (pytest.fail if IN_CI else pytest.skip)(
            f"the unprivileged user cannot run this Python: {probe.stderr.strip()[:200]}")
    return user


def test_unprivileged_tree_scan_names_the_log_and_skips_the_rules(world_dir):
    user = _nobody(world_dir)
    log = world_dir / "root/var/log/kern.log"
    log.parent.mkdir(parents=True)
    log.write_text(KILL.format(pid=3, name="secret"))
    log.chmod(0o600)
    for folder in (world_dir / "root", world_dir / "root/var", log.parent):
        folder.chmod(0o755)
    report = json.loads(run("scan", "--root", "root", "--ram", "4G", "--select", "KLOG,CONF003",
                            "--format", "json", cwd=world_dir, user=user).stdout)
    [finding] = report["findings"]
    assert (finding["rule"], finding["message"]) == (
        "CONF003", "could not read root/var/log/kern.log: permission denied; readable by root "
                   "only")
    assert {r["status"] for r in report["rules"] if r["rule"].startswith("KLOG")} == {"skipped"}


def test_unprivileged_live_scan_names_each_source(world_dir):
    user = _nobody(world_dir)
    report = json.loads(run("scan", "--select", "KLOG,CONF003", "--format", "json",
                            cwd=world_dir, user=user).stdout)
    runs = {r["status"] for r in report["rules"] if r["rule"].startswith("KLOG")}
    named = " ".join(f["message"] for f in report["findings"] if f["rule"] == "CONF003")
    if runs == {"skipped"}:  # nothing readable: each source said why
        assert "/dev/kmsg" in named or "dmesg" in named
    else:  # this host lets anyone read one (dmesg_restrict=0, a journal it may see)
        assert runs <= {"passed", "failed"}
