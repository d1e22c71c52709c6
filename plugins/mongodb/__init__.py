"""MONGO001-MONGO002: MongoDB's WiredTiger cache against the host's RAM.

Each mongod.conf is one mongod, read as mongod reads its YAML (nested or dotted keys, the
cache's range): ``oomaudit.parsers.mongodconf``. Its cache (``cacheSizeGB``, or the
default of 50% of (RAM - 1 GB), at least 256 MB) enters the memory ledger as service
``mongodb``.

This module only registers (every run imports it); the code is beside it, imported when
there is a mongod.conf: ``budget`` (the ledger) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, PLUGIN, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    if not host.documents(PLUGIN):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    # Both checks start from the mongod.conf documents and ask for no fact without one.
    return make_rules(checks_in(f"{PACKAGE}.rules", "MONGO001", "MONGO002"), "mongodb.toml",
                      reads=(PLUGIN,))
