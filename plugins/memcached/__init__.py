"""MEMCACHED001-MEMCACHED002: memcached's item memory (``-m``) against the host's RAM.

Each memcached.conf is one memcached, read as Debian's systemd-memcached-wrapper hands it
to memcached and as memcached's getopt and ``atoi`` read ``-m`` (megabytes; 64 without
it): ``oomaudit.parsers.memcached``; so is each systemd unit whose ExecStart runs
memcached with its options. Their item memory enters the memory ledger as service
``memcached``.

This module only registers (every run imports it); the code is beside it, imported when
there is a memcached.conf or a unit: ``instances`` (the files and units), ``budget`` (the
ledger) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, PLUGIN, READER, SYSTEMD


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    if not host.documents(PLUGIN) and host.given_none_of(SYSTEMD):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    # Both checks start from the instances and ask for no fact without one.
    return make_rules(checks_in(f"{PACKAGE}.rules", "MEMCACHED001", "MEMCACHED002"),
                      "memcached.toml", reads=(PLUGIN, SYSTEMD))
