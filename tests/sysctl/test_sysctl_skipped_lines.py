"""CONF001's severity follows what the programs do with a line (issue 14 item 7): a stray
shell line in sysctl.conf is skipped with a warning by both sysctl and systemd-sysctl,
which apply the rest, so it is low; a line that is an error stays the rule's high. The
claim is checked against the real programs here."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import IN_CI, assert_no_traceback, need_program

SHELL_LINE = "echo 1 > /proc/sys/vm/drop_caches"
SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"


def conf001(oomaudit, tmp_path, text: str) -> list[tuple[int, str]]:
    (tmp_path / "sysctl.conf").write_text(text)
    proc = oomaudit("check", tmp_path / "sysctl.conf", "--format", "json", "--select", "CONF")
    assert_no_traceback(proc)
    return [(f["line"], f["severity"]) for f in json.loads(proc.stdout)["findings"]]


def test_a_shell_line_is_low_and_a_line_without_key_stays_high(oomaudit, tmp_path):
    found = conf001(oomaudit, tmp_path, f"vm.swappiness = 10\n{SHELL_LINE}\n= 5\n")
    assert found == [(2, "low"), (3, "high")]


def test_the_programs_skip_a_shell_line_with_a_warning(tmp_path):
    """Nothing is written: the file's only line is no assignment."""
    sysctl = need_program("sysctl", "procps reference for sysctl files")
    conf = tmp_path / "99-shell.conf"
    conf.write_text(SHELL_LINE + "\n")
    procps = subprocess.run([sysctl, "-p", str(conf)], capture_output=True, text=True)
    assert procps.returncode == 0 and "invalid syntax, continuing" in procps.stderr
    if not os.path.exists(SYSTEMD_SYSCTL):
        if IN_CI:
            pytest.fail(f"{SYSTEMD_SYSCTL} is required in CI (systemd package)")
        pytest.skip("systemd-sysctl not installed")
    systemd = subprocess.run([SYSTEMD_SYSCTL, str(conf)], capture_output=True, text=True)
    assert "Line is not an assignment, ignoring" in systemd.stderr
