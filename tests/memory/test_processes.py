"""The live snapshot (oomaudit/processes.py) reads /proc itself: it must see each process as
psutil does, on this machine's real processes.

Processes started here cover the cases that differ: a name longer than the kernel keeps in
``stat`` (psutil takes the command line's basename), a command line with an empty word and
spaces inside words, a process that changed its own title.
"""
import os
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from oomaudit.processes import _snapshot


@pytest.fixture
def children(tmp_path):
    long_name = tmp_path / "a-process-name-longer-than-fifteen"
    shutil.copy(shutil.which("sleep"), long_name)
    started = [
        subprocess.Popen([str(long_name), "30"]),
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "", "two words"]),
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.Process(p.pid).status() == "running"
                                              for p in started):
        time.sleep(0.05)  # each settled into its sleep: an RSS that no longer grows
    yield [p.pid for p in started]
    for proc in started:
        proc.kill()
        proc.wait()


def _psutil() -> dict[int, tuple]:
    return {p.pid: (p.info["name"], p.info["cmdline"], p.info["uids"].real if p.info["uids"]
                    else None) for p in psutil.process_iter(["pid", "name", "cmdline", "uids"])}


def test_the_snapshot_sees_what_psutil_sees(children):
    before = _psutil()
    ours = {p.pid: p for p in _snapshot()[0]}
    after = _psutil()
    compared = 0
    for pid, seen in before.items():
        mine = ours.get(pid)
        if mine is None or after.get(pid) != seen or seen[1] is None:
            continue  # started, ended or exec'd meanwhile (other tests run beside this one)
        assert (mine.name, list(mine.cmdline), mine.uid) == seen, pid
        compared += 1
    assert compared > 2
    assert all(pid in ours for pid in children)
    sleeper = children[0]  # started before the fixture returned, and idle: its RSS holds
    rss = psutil.Process(sleeper).memory_info().rss
    assert abs(ours[sleeper].rss - rss) <= max(rss // 10, 1 << 20)  # moments apart


def test_a_long_name_is_the_command_lines_basename(children):
    ours = {p.pid: p for p in _snapshot()[0]}
    assert ours[children[0]].name == "a-process-name-longer-than-fifteen"
    assert ours[children[1]].cmdline[-2:] == ("", "two words")


def test_our_own_oom_scores_are_read():
    me = {p.pid: p for p in _snapshot()[0]}[os.getpid()]
    with open(f"/proc/{os.getpid()}/oom_score_adj") as fh:
        assert me.oom_score_adj == int(fh.read())
    assert isinstance(me.oom_score, int) and me.oom_score >= 0
