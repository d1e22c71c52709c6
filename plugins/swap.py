"""SWAP001-SWAP004: the swap safety net, from /etc/fstab and (live) /proc/swaps.

What each mode can honestly know:

* live (``scan``): fstab, /proc/swaps, the files and devices themselves;
* ``--root DIR``: fstab and swap *files* inside the tree (a tree has no block devices,
  so ``/dev/...`` and ``UUID=``-style sources are not checked for existence);
* config repo (``check``): fstab text only; absolute paths name nothing here, so
  existence and mode are not checked and SWAP002/SWAP003 stay silent.

This module only registers (it is what the entry point names, and every run imports
it); the reader and checks live in ``swap_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

CHECKS = "oomaudit.plugins.swap_checks"


@hookimpl
def oomaudit_readers():
    return [Reader(
        name="fstab", parse=f"{CHECKS}:parse", system_paths=("etc/fstab",),
        file_patterns=("fstab", "*.fstab", "fstab.*", "*_fstab", "*-fstab"),
        sniff="oomaudit.parsers.fstab:looks_like_fstab",
        # an entry's target ("/", "none", "swap") as second field, or a comment line with
        # the stock header; anchored at line starts, the search costs per line
        sniff_hint=r"^[ \t]*(?:[^# \t\n][^ \t\n]*[ \t]+(?:/|none|swap)|#.*(?i:<file system>|"
                   r"static file system information|unconfigured fstab|/etc/fstab))")]


@hookimpl
def oomaudit_collect(host):
    from . import swap_checks

    swap_checks.collect(host)


@hookimpl
def oomaudit_rules():
    return make_rules(checks_in(CHECKS, "SWAP001", "SWAP002", "SWAP003", "SWAP004"),
                      "swap.toml", reads=("fstab",))
