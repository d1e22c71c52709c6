"""Whole-host facts and rules: RAM and swap measured live (psutil, cgroup limits) and
HOST002, the memory ledger's total against RAM and RAM + swap.

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives beside it, imported when there is work: ``measure`` on a
live host, ``rules`` when a plugin put something in the ledger.
"""
from __future__ import annotations

from oomaudit import hookimpl, make_rules


@hookimpl
def oomaudit_collect(host):
    from .measure import collect

    collect(host)


def check_host002(host):
    """HOST002 once the ledger holds a consumer; with none there is no total to compare.
    (This rule reads no file, so ``reads`` cannot spare the import: the ledger decides
    here, before it.)"""
    if not host.ledger.consumers:
        return ()
    from .rules import check_host002 as check

    return check(host)


@hookimpl
def oomaudit_rules():
    return make_rules({"HOST002": check_host002}, "host.toml")
