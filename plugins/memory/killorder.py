"""The kernel's kill order now: the killable process with the highest ``oom_score`` goes
first, shown as the ``kill_order`` table of a live host's report."""
from __future__ import annotations

import os

from oomaudit.host import Table
from oomaudit.processes import processes
from oomaudit.units import format_size

KILL_ORDER_ROWS = 5
OOM_SCORE_ADJ_MIN = -1000


def kill_order(procs, me: int | None = None) -> list:
    """Killable processes, the kernel's first victim first (ties: the larger RSS)."""
    me = os.getpid() if me is None else me
    killable = [p for p in procs if p.pid not in (1, me) and p.rss and p.oom_score is not None
                and p.oom_score_adj != OOM_SCORE_ADJ_MIN]
    return sorted(killable, key=lambda p: (-p.oom_score, -(p.rss or 0), p.pid))


def collect(host):
    rows = []
    for rank, p in enumerate(kill_order(processes(host))[:KILL_ORDER_ROWS], 1):
        rows.append([rank, p.pid, p.name, p.unit or p.cgroup or "-", format_size(p.rss),
                     p.oom_score, p.oom_score_adj])
    host.tables["kill_order"] = Table(
        "OOM kill order now (the kernel kills the first one)",
        ["#", "pid", "process", "unit/cgroup", "RSS", "oom_score", "oom_score_adj"], rows)
