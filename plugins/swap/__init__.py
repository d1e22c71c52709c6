"""SWAP001-SWAP004: the swap safety net, from /etc/fstab and (live) /proc/swaps.

What each mode can honestly know:

* live (``scan``): fstab, /proc/swaps, the files and devices themselves;
* ``--root DIR``: fstab and swap *files* inside the tree (a tree has no block devices,
  so ``/dev/...`` and ``UUID=``-style sources are not checked for existence);
* config repo (``check``): fstab text only; absolute paths name nothing here, so
  existence and mode are not checked and SWAP002/SWAP003 stay silent.

Each tmpfs the fstab mounts at boot goes into the memory ledger (``tmpfs``: its size=, or
why it is not counted).

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives beside it, imported when there is work: ``document`` (the
reader's parse), ``active`` (/proc/swaps), ``places`` (where a swap area is on this host)
and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import READER

CHECKS = "oomaudit.plugins.swap.rules"


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from .active import collect

    collect(host)


@hookimpl
def oomaudit_budget(host):
    documents = host.documents(READER.name)
    # tmpfs.py comes only with a tmpfs line: most fstabs have none, and every run pays imports
    if any(entry.fstype == "tmpfs" for doc in documents for entry in doc.fstab.entries):
        from .tmpfs import add_to_ledger

        add_to_ledger(host, documents)


@hookimpl
def oomaudit_rules():
    return make_rules(checks_in(CHECKS, "SWAP001", "SWAP002", "SWAP003", "SWAP004"),
                      "swap.toml", reads=("fstab",))
