"""USERKILL001-003: the userspace OOM killers, which kill before the kernel does.

earlyoom (``/etc/default/earlyoom``, the ``EARLYOOM_ARGS`` its unit passes) read as
earlyoom.service hands it to earlyoom: a critical service (settings ``critical-services``)
its ``--prefer`` regex matches (001) or no ``--avoid`` covers (002), and a memory minimum
that the services' worst case of the memory ledger already reaches, so that earlyoom kills
where the kernel would not (003). An EARLYOOM_ARGS earlyoom refuses is CONF001.

This module only registers (the entry point names it, and every run imports it); the code
lives beside it: ``earlyoom`` (the file and the arguments as earlyoom reads them),
``critical`` (the process names of the critical services) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import EARLYOOM, PACKAGE, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_rules():
    # every check starts from the earlyoom documents and yields nothing without one
    return make_rules(checks_in(f"{PACKAGE}.rules", "USERKILL001", "USERKILL002",
                                "USERKILL003"), "userkill.toml", reads=(EARLYOOM,))
