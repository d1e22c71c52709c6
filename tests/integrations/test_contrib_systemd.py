"""contrib/systemd: the timer and service as installed. systemd-analyze verifies them,
systemctl --root enables the timer as docs/periodic-scans.md says, and the service's own
ExecStart runs against trees: findings are success under SuccessExitStatus, an error is not.
The cron line the docs give for hosts without systemd runs the same way."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, assert_no_traceback, need_program
from prometheus_helpers import host_tree, parse

from oomaudit.parsers.systemd import parse_unit

UNITS = REPO / "contrib" / "systemd"
DOCS = REPO / "docs" / "periodic-scans.md"
VENV_OOMAUDIT = Path(sys.executable).with_name("oomaudit")


def settings(name: str, unit_type: str) -> dict[str, list[str]]:
    """Key -> every value assigned, as systemd reads the file."""
    parsed = parse_unit((UNITS / name).read_text(), unit_type)
    assert not parsed.problems and not parsed.fatal, parsed.problems
    out: dict[str, list[str]] = {}
    for a in parsed.assignments:
        out.setdefault(a.key, []).append(a.value)
    return out


SERVICE = settings("oomaudit.service", "service")


def installed(tmp_path: Path) -> Path:
    """The units copied into a tree's /etc/systemd/system, ExecStart pointing at this venv's
    oomaudit (systemd-analyze verify needs the binary to exist)."""
    folder = tmp_path / "etc" / "systemd" / "system"
    folder.mkdir(parents=True)
    for name in ("oomaudit.service", "oomaudit.timer"):
        text = (UNITS / name).read_text()
        (folder / name).write_text(text.replace("/opt/oomaudit/bin/oomaudit", str(VENV_OOMAUDIT)))
    return folder


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    analyze = need_program("systemd-analyze", "verifies the unit files as systemd loads them")
    folder = installed(tmp_path)
    proc = subprocess.run([analyze, "verify", "--man=no", folder / "oomaudit.service",
                           folder / "oomaudit.timer"], capture_output=True, text=True,
                          timeout=120)
    # warnings (an unknown key, a value systemd ignores) do not change the exit status
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


def test_systemd_analyze_would_catch_a_typo(tmp_path):
    analyze = need_program("systemd-analyze", "verifies the unit files as systemd loads them")
    unit = installed(tmp_path) / "oomaudit.service"
    unit.write_text(unit.read_text().replace("SuccessExitStatus=", "SuccessExitStatu="))
    proc = subprocess.run([analyze, "verify", "--man=no", unit], capture_output=True,
                          text=True, timeout=120)
    assert "Unknown key 'SuccessExitStatu'" in proc.stderr


def test_the_documented_install_enables_the_timer(tmp_path):
    """`systemctl enable oomaudit.timer` against a tree: the [Install] section works."""
    systemctl = need_program("systemctl", "enables the timer offline with --root")
    installed(tmp_path)
    proc = subprocess.run([systemctl, f"--root={tmp_path}", "enable", "oomaudit.timer"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    link = tmp_path / "etc/systemd/system/timers.target.wants/oomaudit.timer"
    assert link.is_symlink() and Path(link.readlink()).name == "oomaudit.timer"
    text = DOCS.read_text()
    for line in ("install -m 644 contrib/systemd/oomaudit.service contrib/systemd/oomaudit.timer"
                 " /etc/systemd/system/", "systemctl enable --now oomaudit.timer"):
        assert line in text


def test_timer_is_daily_randomized_and_persistent():
    timer = settings("oomaudit.timer", "timer")
    assert timer["OnCalendar"] == ["daily"] and timer["Persistent"] == ["true"]
    assert timer["RandomizedDelaySec"] and timer["WantedBy"] == ["timers.target"]


def test_service_is_a_hardened_oneshot():
    one = {key: values[-1] for key, values in SERVICE.items()}
    assert (one["Type"], one["SuccessExitStatus"]) == ("oneshot", "1")
    assert (one["ProtectSystem"], one["ProtectHome"], one["PrivateTmp"],
            one["NoNewPrivileges"], one["StateDirectory"]) == (
        "strict", "read-only", "yes", "yes", "oomaudit")
    # what would hide the live kernel log (/dev/kmsg, dmesg) or the swap devices
    assert not {"PrivateDevices", "ProtectKernelLogs", "ProtectClock", "DeviceAllow",
                "DevicePolicy"} & set(SERVICE)
    assert "CAP_SYSLOG" in one["CapabilityBoundingSet"].split()


def test_the_output_is_the_only_writable_place_besides_the_state():
    """Under ProtectSystem=strict, -o must name a file inside ReadWritePaths."""
    argv = shlex.split(SERVICE["ExecStart"][-1])
    output = Path(argv[argv.index("--output") + 1])
    writable = [Path(p.lstrip("-")) for v in SERVICE["ReadWritePaths"] for p in v.split()]
    assert writable == [output.parent] and output.suffix == ".prom"
    assert argv[1] == "scan" and argv[argv.index("--format") + 1] == "prometheus"
    # the kernel-log cursor of --since last is kept in the StateDirectory, oomaudit's default
    assert argv[argv.index("--since") + 1] == "last"


def success_codes() -> set[int]:
    """What systemd counts as a successful exit of the service: 0 and SuccessExitStatus."""
    return {0} | {int(v) for value in SERVICE.get("SuccessExitStatus", []) for v in value.split()}


def run_exec_start(out: Path, *extra: str, line: str = "") -> subprocess.CompletedProcess:
    """The service's ExecStart (or another command ``line``), run here: this venv's
    oomaudit, the output moved to ``out``, the state (systemd's StateDirectory) in a folder
    beside it, and ``extra`` (a tree to audit instead of this host) appended."""
    argv = shlex.split(line or SERVICE["ExecStart"][-1])
    argv[0] = str(VENV_OOMAUDIT)
    argv[argv.index("--output") + 1] = str(out)
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1",
           "OOMAUDIT_STATE_DIR": str(out.parent.parent / "state")}
    return subprocess.run([*argv, *map(str, extra)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_findings_leave_the_service_successful_and_a_kill_is_reported_once(tmp_path):
    root, _ = host_tree(tmp_path)
    out = tmp_path / "node-exporter" / "oomaudit.prom"
    out.parent.mkdir()
    rules = []
    for _day in (1, 2):
        proc = run_exec_start(out, "--root", root, "--ram", "4G")
        assert_no_traceback(proc)
        assert proc.returncode == 1 and proc.returncode in success_codes(), proc.stderr
        metrics = parse(out.read_text())
        assert list(metrics["oomaudit_last_run_success"][2].values()) == [1]
        rules.append({dict(labels)["rule"] for labels in metrics["oomaudit_findings"][2]})
        assert ("oomaudit_oom_kills" in metrics) == (_day == 1)
    assert {"MYSQL001", "SYSTEMD001", "KLOG001"} <= rules[0]
    assert rules[1] == rules[0] - {"KLOG001"}  # the next day: the same kills are not news


@pytest.mark.parametrize("problem", ["no collector directory", "broken config"])
def test_an_error_marks_the_service_failed(tmp_path, problem):
    root, _ = host_tree(tmp_path)
    out = tmp_path / "node-exporter" / "oomaudit.prom"
    extra = ["--root", root, "--ram", "4G"]
    if problem == "broken config":
        out.parent.mkdir()
        (tmp_path / "oomaudit.toml").write_text("fail-on = [\n")
        extra += ["--config", tmp_path / "oomaudit.toml"]
    proc = run_exec_start(out, *extra)
    assert_no_traceback(proc)
    assert proc.returncode == 2 and proc.returncode not in success_codes(), proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and not out.exists()


def test_the_documented_cron_line_runs_the_same_scan(tmp_path):
    """For hosts without systemd: a cron.d line (minute hour dom month dow user command)."""
    [line] = [ln for ln in DOCS.read_text().splitlines()
              if re.match(r"^\d+ \d+ \* \* \* root /", ln)]
    fields = line.split(None, 6)
    assert "%" not in fields[6]  # cron turns % into a newline
    assert shlex.split(fields[6]) == shlex.split(SERVICE["ExecStart"][-1])
    root, _ = host_tree(tmp_path)
    out = tmp_path / "textfile" / "oomaudit.prom"
    out.parent.mkdir()
    proc = run_exec_start(out, "--root", root, "--ram", "4G", line=fields[6])
    assert proc.returncode == 1 and "oomaudit_findings" in parse(out.read_text())
