"""A MySQL server's worst case, summed as MySQLTuner sums it, and its entry in the host's
memory ledger (the ``oomaudit_budget`` hook). MYSQL002 judges the same sum.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.containers.constants import COMPOSE

from oomaudit.parsers.mysql_values import Setting
from oomaudit.units import format_size

from .constants import PLUGIN
from .servers import Server, servers

MYSQLTUNER = "MySQLTuner 2.8.36 (mysqltuner.pl, calculations())"


class Term(NamedTuple):
    """One term of the worst case: a variable's value and where it was set
    (``path:line``, or the flavour's default)."""

    name: str
    bytes: int
    source: str


class WorstCase(NamedTuple):
    """MySQLTuner's sum: the ``server`` buffers once, plus the ``thread`` buffers
    once per connection. ``connections`` is max_connections: its ``bytes`` is a count."""

    server: list[Term]
    thread: list[Term]
    connections: Term

    @property
    def server_bytes(self) -> int:
        return sum(t.bytes for t in self.server)

    @property
    def thread_bytes(self) -> int:
        return sum(t.bytes for t in self.thread)

    @property
    def total(self) -> int:
        return self.server_bytes + self.connections.bytes * self.thread_bytes


SERVER_TERMS = ("key_buffer_size", "innodb_buffer_pool_size", "innodb_log_buffer_size",
                "query_cache_size", "aria_pagecache_buffer_size")
THREAD_TERMS = ("read_buffer_size", "read_rnd_buffer_size", "sort_buffer_size", "thread_stack",
                "join_buffer_size", "binlog_cache_size")


def worst_case(server: Server) -> WorstCase:
    """MySQLTuner's max_peak_memory without performance_schema (a live figure): server
    buffers + max_connections x per-thread buffers. In-memory temporary tables count
    min(tmp_table_size, max_heap_table_size) as MySQLTuner does; on MySQL 8 the TempTable
    engine's shared temptable_max_ram replaces that term."""
    eff = server.effective
    terms = [_term(server, n) for n in SERVER_TERMS if n in eff]
    if "temptable_max_ram" in eff:
        terms.append(_term(server, "temptable_max_ram"))
    else:
        smaller = min(("tmp_table_size", "max_heap_table_size"), key=lambda n: _bytes(eff, n))
        base = _term(server, smaller)
        terms.append(Term(f"min(tmp_table_size, max_heap_table_size) = {smaller}", base.bytes,
                          base.source))
    thread = [_term(server, n) for n in THREAD_TERMS]
    return WorstCase(terms, thread, _term(server, "max_connections"))


def _bytes(eff: dict[str, Setting], name: str) -> int:
    return eff[name].value.number  # settings() keeps only values the server accepted


def _term(server: Server, name: str) -> Term:
    return Term(name, _bytes(server.effective, name), origin(server, name))


def origin(server: Server, name: str) -> str:
    """Where the server's value of ``name`` was set: ``path:line``, or the default."""
    option = server.effective[name].option
    if option is None:
        return f"default of {server.flavour.label}"
    return f"{option.path}:{option.line}"


def add_to_ledger(host):
    """Each server's worst case into the ledger (the ``oomaudit_budget`` hook)."""
    contained = None
    if host.documents(COMPOSE):  # bind mounts come from compose files: none, no import
        from oomaudit.plugins.containers.services import in_containers as contained
    for server in servers(host):
        if server.config.aborted or (contained and contained(host, server.config.top)):
            continue  # a container's option file: its compose service is in the ledger
        worst = worst_case(server)
        option = server.effective["max_connections"].option
        where = f"{option.path}:{option.line}" if option else server.where
        host.ledger.add(
            PLUGIN, worst.total,
            f"{format_size(worst.server_bytes)} server buffers + {worst.connections.bytes} "
            f"connections x {format_size(worst.thread_bytes)} per thread "
            f"({server.flavour.label}, as {MYSQLTUNER} sums it)", where, PLUGIN)
