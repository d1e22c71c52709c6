"""Live memory: /proc/meminfo, the kernel's current kill order, and HOST001 (memory or
swap in use above the alert threshold).

The kill order is what the OOM killer would do now: the killable process with the
highest ``oom_score`` goes first. Processes the kernel never picks are left out:
PID 1, kernel threads (no memory of their own) and ``oom_score_adj = -1000``; so is
this audit's own process, which is gone by the time anyone reads the report.

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives beside it (``meminfo``, ``killorder`` for the table,
``rules``), imported on a live host only: a tree or a config repository has no
/proc/meminfo to read.
"""
from __future__ import annotations

from oomaudit import hookimpl, make_rules


@hookimpl
def oomaudit_collect(host):
    from .killorder import collect

    collect(host)


def check_host001(host):
    """HOST001 on a live host; anywhere else it has nothing to read. (``reads`` names
    formats of files, and this rule reads none: so the host's mode decides here, before
    any import.)"""
    if not host.live:
        return ()
    from .rules import check_host001 as check

    return check(host)


@hookimpl
def oomaudit_rules():
    return make_rules({"HOST001": check_host001}, "host.toml")
