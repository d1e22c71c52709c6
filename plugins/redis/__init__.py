"""REDIS001-REDIS005: Redis and Valkey against the host's RAM and the kernel settings
redis-server itself warns about.

An *instance* is what one redis-server reads: a redis.conf (``/etc/redis/redis.conf``,
Debian's ``redis-NAME.conf``, Valkey's) with every file it includes, read as Redis 7.0
reads it (its quoting, its units: ``1k`` is 1000 bytes, ``1kb`` 1024; the last value
wins). ``maxmemory`` bounds the dataset; an instance that forks for persistence (RDB
snapshots, AOF rewrites) may need it twice while the child runs. Each instance's worst
case enters the memory ledger as service ``redis``.

This module only registers (it is what the entry point names, and every run imports it);
the code lives beside it, imported when there is work: ``instances`` (the files one
redis-server reads, the settings in effect; one file's syntax is
``oomaudit.parsers.redisconf`` and ``redis_values``), ``budget`` (the ledger and the live
processes), ``kernel`` (overcommit and transparent huge pages as Redis checks them) and
``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, PLUGIN, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # Instances come only from redis documents: without one there is nothing to add.
    if not host.documents(PLUGIN):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    # Every check starts from the instances of the redis documents and yields nothing
    # (asks for no fact) without one.
    return make_rules(checks_in(f"{PACKAGE}.rules", "REDIS001", "REDIS002", "REDIS003",
                                "REDIS004", "REDIS005"), "redis.toml", reads=(PLUGIN,))
