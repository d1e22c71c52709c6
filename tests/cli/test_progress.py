"""Progress on a terminal for a long run (issue 18.3): oomaudit/progress.py.

The line appears only after DELAY, on a terminal, and is cleared before the report; a pipe,
CI and --quiet never see one. The clock is the test's (a run that takes two real seconds
would make the suite slow), the terminal a real pty for the end-to-end case.
"""
import io
import os
import pty
import subprocess
import sys

import pytest

from oomaudit import progress as progress_mod
from oomaudit.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    return now


def test_nothing_before_the_delay_then_a_line_rewritten_in_place(clock):
    screen = Terminal()
    progress = Progress(True, screen)
    progress.hosts = 4
    for _ in range(128):
        progress.found_file()
    assert screen.getvalue() == ""  # a short run shows nothing
    clock[0] += progress_mod.DELAY + 0.1
    for _ in range(64):
        progress.read_file()
    progress.host_done()
    assert screen.getvalue().startswith("\roomaudit: 0/4 hosts, 64/128 files")
    clock[0] += progress_mod.EVERY + 0.1
    progress.host_done()
    assert screen.getvalue().endswith("\roomaudit: 2/4 hosts, 64/128 files")
    progress.clear()
    assert screen.getvalue().endswith("\r" + " " * len("oomaudit: 2/4 hosts, 64/128 files")
                                      + "\r")


def test_disabled_never_writes(clock):
    screen = Terminal()
    progress = Progress(False, screen)
    clock[0] += 60
    for _ in range(1000):
        progress.found_file()
        progress.read_file()
    progress.host_done()
    progress.clear()
    assert screen.getvalue() == ""


@pytest.mark.parametrize("quiet, env, shown", [
    (False, {}, True), (True, {}, False), (False, {"CI": "true"}, False),
    (False, {"TERM": "dumb"}, False)])
def test_only_a_terminal_outside_ci_and_quiet_shows_it(monkeypatch, quiet, env, shown):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert Progress.for_run(quiet).enabled is shown
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a pipe
    assert Progress.for_run(False).enabled is False


def test_a_short_run_on_a_real_terminal_leaves_no_progress(tmp_path):
    """Under a pty, as a user at a shell runs it: the report and nothing else on stderr."""
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", "fstab"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=follower, text=True, timeout=60,
                          env={**env, "TERM": "xterm", "NO_COLOR": "1",
                               "OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "none.toml")})
    os.close(follower)
    written = b""
    try:
        while chunk := os.read(leader, 4096):
            written += chunk
    except OSError:  # the pty's other end is closed
        pass
    os.close(leader)
    assert proc.returncode in (0, 1)
    assert b"oomaudit:" not in written and b"\r" not in written.replace(b"\r\n", b"")
