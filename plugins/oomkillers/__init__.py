"""USERKILL001-005: the userspace OOM killers, which kill before the kernel does.

earlyoom (``/etc/default/earlyoom``, the ``EARLYOOM_ARGS`` its unit passes) read as
earlyoom.service hands it to earlyoom: a critical service (settings ``critical-services``)
its ``--prefer`` regex matches (001) or no ``--avoid`` covers (002), and a memory minimum
that the services' worst case of the memory ledger already reaches, so that earlyoom kills
where the kernel would not (003). Two userspace killers (systemd-oomd, earlyoom, nohang)
enabled at once (004). A critical unit that systemd-oomd, enabled, may kill: the unit or a
slice above it says ManagedOOMSwap=kill or ManagedOOMMemoryPressure=kill and the unit does
not say ManagedOOMPreference=avoid (005). nohang.conf whose @BADNESS_ADJ_RE_NAME lines add
to a critical service's badness (006). A file its killer refuses is CONF001.

This module only registers (the entry point names it, and every run imports it); the code
lives beside it: ``earlyoom`` (the file and the arguments as earlyoom reads them),
``nohang`` (nohang.conf as nohang reads it), ``critical`` (the process names of the
critical services), ``oomd`` (the slices that systemd-oomd manages above a unit),
``oomdconf`` (oomd.conf and its drop-ins), ``rules`` (001-003, 006) and ``enabled``
(004-005, from the host's units).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import EARLYOOM, NOHANG, NOHANG_READER, PACKAGE, READER, SYSTEMD


@hookimpl
def oomaudit_readers():
    return [READER, NOHANG_READER]


@hookimpl
def oomaudit_rules():
    # 001-003 start from the earlyoom documents and yield nothing without one; 004-005 read
    # the host's enabled units and their ManagedOOM settings (a tree or the live host: a
    # repository has no .wants/ links)
    return [*make_rules(checks_in(f"{PACKAGE}.rules", "USERKILL001", "USERKILL002",
                                  "USERKILL003"), "userkill.toml", reads=(EARLYOOM,)),
            *make_rules(checks_in(f"{PACKAGE}.enabled", "USERKILL004", "USERKILL005"),
                        "userkill.toml", reads=(SYSTEMD,)),
            *make_rules(checks_in(f"{PACKAGE}.rules", "USERKILL006"), "userkill.toml",
                        reads=(NOHANG,))]
