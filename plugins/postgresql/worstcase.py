"""A PostgreSQL cluster's worst case, summed in pgtune's terms, and the settings that fit it
into a given size: what the ledger entry, PG002 and a container's CONTAINER003 (a
postgresql.conf mounted into it) all judge. Arithmetic on a read cluster only, so that
any plugin may import it.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.parsers.pgcluster import PgConfig
from oomaudit.units import format_size

MB = 1 << 20

PGTUNE = "pgtune (le0pard/pgtune): shared_buffers = RAM/4, " \
         "work_mem = (RAM - shared_buffers) / ((max_connections + max_worker_processes) x 3)"


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


def fit(config: PgConfig, ram: int) -> str:
    """Settings in pgtune's spirit that bring the worst case under ``ram``."""
    shared = min(config.bytes("shared_buffers"), ram // 4 // MB * MB)
    workers = int(config.value("autovacuum_max_workers"))
    vacuum = config.bytes("autovacuum_work_mem")
    # pgtune's RAM/16, and never more than a quarter of RAM for all workers together
    vacuum_cap = max(min(ram // 16, ram // 4 // workers) // MB * MB, MB)
    lines = []
    if shared < config.bytes("shared_buffers"):
        lines.append(f"shared_buffers = {pg_size(shared)}")
    if vacuum > vacuum_cap:
        vacuum = vacuum_cap
        lines.append(f"autovacuum_work_mem = {pg_size(vacuum)}")
    conns = int(config.value("max_connections"))
    multiplier = config.value("hash_mem_multiplier")
    left = ram - shared - workers * vacuum
    pgtune = (ram - shared) // ((conns + int(config.value("max_worker_processes"))) * 3)
    work = min(pgtune, int(left / (conns * multiplier))) // 1024 * 1024
    if work >= 4 * MB:  # pgtune's floor: less spills even simple sorts to disk
        if work < config.bytes("work_mem"):
            lines.append(f"work_mem = {pg_size(work)}")
    else:
        work = 4 * MB
        fitting = max(int(left / (work * multiplier)), 1)
        lines.append("work_mem = 4MB")
        lines.append(f"max_connections = {fitting}    # put a pooler such as PgBouncer "
                     "in front for more clients")
    return "\n".join(lines) + f"\n# {PGTUNE}"


def pg_size(nbytes: int) -> str:
    """A size as postgresql.conf takes it: the largest unit that divides it exactly."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", MB), ("kB", 1024)):
        if nbytes >= size and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return f"{max(nbytes // 1024, 64)}kB"
