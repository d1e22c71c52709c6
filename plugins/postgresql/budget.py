"""A PostgreSQL cluster's worst case, summed in pgtune's terms, and its entry in the host's
memory ledger (the ``oomaudit_budget`` hook). PG002 judges the same sum.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.containers.constants import COMPOSE

from oomaudit.parsers.pgcluster import PgConfig
from oomaudit.units import format_size

from .clusters import clusters
from .constants import PLUGIN

MB = 1 << 20


class Term(NamedTuple):
    """One term of the worst case (shared_buffers, connections, autovacuum): its bytes,
    the arithmetic in ``how``, and where a single setting set it (else "")."""

    label: str
    bytes: int
    how: str
    source: str


def worst_case(config: PgConfig) -> list[Term]:
    """shared_buffers + max_connections x work_mem x hash_mem_multiplier +
    autovacuum_max_workers x (autovacuum_work_mem, or maintenance_work_mem when -1)."""
    def setting(name: str, shown: str) -> str:
        return f"{name} {shown} ({config.origin(name)})"

    shared = config.bytes("shared_buffers")
    conns = int(config.value("max_connections"))
    work = config.bytes("work_mem")
    multiplier = config.value("hash_mem_multiplier")
    # before PostgreSQL 13 a hash took work_mem like a sort: no multiplier to name
    hashed = "" if config.version is not None and config.version < 13 else \
        f" x {setting('hash_mem_multiplier', f'{multiplier:g}')}"
    workers = int(config.value("autovacuum_max_workers"))
    vacuum = config.bytes("autovacuum_work_mem")
    vacuum_name = "autovacuum_work_mem" if config.value("autovacuum_work_mem") != -1 \
        else "maintenance_work_mem"
    return [
        Term("shared_buffers", shared, f"shared_buffers {pg_size(shared)}",
             config.origin("shared_buffers")),
        Term("connections", int(conns * work * multiplier),
             f"{setting('max_connections', str(conns))} x {setting('work_mem', pg_size(work))}"
             f"{hashed}", ""),
        Term("autovacuum", workers * vacuum,
             f"{setting('autovacuum_max_workers', str(workers))} x "
             f"{setting(vacuum_name, pg_size(vacuum))}", ""),
    ]


def sum_text(terms: list[Term]) -> str:
    return " + ".join(f"{t.label} {format_size(t.bytes)}" for t in terms)


def add_to_ledger(host):
    """Each cluster's worst case into the ledger (the ``oomaudit_budget`` hook), but one
    whose postgresql.conf a compose service mounts: that container's entry counts it."""
    contained = None
    if host.documents(COMPOSE):  # bind mounts come from compose files: none, no import
        from oomaudit.plugins.containers.services import in_containers as contained
    for cluster in clusters(host):
        if contained and contained(host, [cluster.config.source.path]):
            continue
        terms = worst_case(cluster.config)
        host.ledger.add(cluster.service, sum(t.bytes for t in terms), sum_text(terms),
                        cluster.config.source.display, PLUGIN)


def pg_size(nbytes: int) -> str:
    """A size as postgresql.conf takes it: the largest unit that divides it exactly."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", MB), ("kB", 1024)):
        if nbytes >= size and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return f"{max(nbytes // 1024, 64)}kB"
