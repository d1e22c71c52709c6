"""Live memory: /proc/meminfo, the kernel's current kill order, and HOST001 (memory or
swap in use above the alert threshold).

The kill order is what the OOM killer would do now: the killable process with the
highest ``oom_score`` goes first. Processes the kernel never picks are left out:
PID 1, kernel threads (no memory of their own) and ``oom_score_adj = -1000``; so is
this audit's own process, which is gone by the time anyone reads the report.

This module only registers (it is what the entry point names, and every run imports
it); the checks live in ``memory_checks``, imported when there is work: on a live
host only, since a tree or a config repository has no /proc/meminfo to read.
"""
from __future__ import annotations

from oomaudit import hookimpl
from oomaudit.catalogue import make_rules


@hookimpl
def oomaudit_collect(host):
    from . import memory_checks

    memory_checks.collect(host)


def check_host001(host):
    """HOST001 on a live host; anywhere else it has nothing to read. (``reads`` names
    formats of files, and this rule reads none: so the host's mode decides here, before
    any import.)"""
    if not host.live:
        return ()
    from . import memory_checks

    return memory_checks.check_host001(host)


@hookimpl
def oomaudit_rules():
    return make_rules({"HOST001": check_host001}, "host.toml")
