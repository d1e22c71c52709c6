"""The memory of one child of a pool, from where it is best known: the pool's live
workers (PSS where readable, else RSS), a facts file measured on the host, the host
profile's ``process-sizes``, or ``memory_limit`` plus the interpreter's own base, an
upper bound.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit import Evidence
from oomaudit.parsers.phpfpm import FpmConfig, Pool
from oomaudit.units import format_size

from .constants import SERVICE
from .phpini import memory_limit

BASE = 32 << 20  # one idle child: the interpreter, its extensions, its opcache share


class Worker(NamedTuple):
    """A live php-fpm worker (titled ``pool NAME``), sizes in bytes: ``ppid`` ties it
    to its master, ``pss`` is None where smaps_rollup could not be read."""

    pid: int
    ppid: int | None
    rss: int | None
    pss: int | None


def _workers(host, config: FpmConfig, pool: Pool) -> list[Worker]:
    """The live workers of this pool: children of the master that reads this config, or,
    with no master visible, every worker titled with the pool's name."""
    files, workers = host.cache.get("php-fpm.live", ({}, {}))
    candidates = workers.get(pool.name, [])
    masters = {pid for pid, real in files.items() if real == config.source.path}
    if masters:
        return [w for w in candidates if w.ppid in masters]
    if files:  # masters are visible, none runs this config: these workers are not ours
        return []
    return candidates


class ChildSize(NamedTuple):
    """Memory of one child of a pool: measured, declared in the host profile, or
    memory_limit plus ``BASE``; ``how`` says which and ``evidence`` shows it."""

    bytes: int | None  # None: unlimited (memory_limit = -1) and nothing else known
    how: str  # "measured average PSS", "declared per-child size", "memory_limit + base"...
    evidence: tuple[Evidence, ...]


def child_size(host, config: FpmConfig, pool: Pool) -> ChildSize:
    """Measured live, else measured where a facts file was taken, else declared in the host
    profile, else memory_limit + base."""
    measured = [w for w in _workers(host, config, pool) if w.rss is not None]
    if measured:
        return measured_child(pool.name, measured)
    facts = host.measured_size(SERVICE, pool.name)
    if facts:
        return ChildSize(facts.value, "measured per-child size (facts file)", (Evidence(
            f"php-fpm child = {format_size(facts.value)}", facts.source),))
    declared = _declared(host, config)
    if declared:
        return declared
    return _from_memory_limit(host, config, pool)


def measured_child(pool: str, workers: list[Worker]) -> ChildSize:
    rss = [w.rss for w in workers]
    pss = [w.pss for w in workers if w.pss is not None]
    average_rss, largest = sum(rss) // len(rss), max(rss)
    pids = ", ".join(str(w.pid) for w in workers[:8]) + (" ..." if len(workers) > 8 else "")
    evidence = [Evidence(f"{len(workers)} live workers of pool {pool}: average RSS "
                         f"{format_size(average_rss)}, largest {format_size(largest)}",
                         f"live: /proc/PID/status, pids {pids}")]
    if len(pss) == len(workers):
        size, what = sum(pss) // len(pss), "measured average PSS"
        evidence.append(Evidence(f"average PSS {format_size(size)} (shared pages split "
                                 "between the workers)", "live: /proc/PID/smaps_rollup"))
    else:
        size, what = average_rss, "measured average RSS"
    evidence.append(Evidence("measured now: workers grow under load, up to memory_limit"))
    return ChildSize(size, what, tuple(evidence))


def _declared(host, config: FpmConfig) -> ChildSize | None:
    """``process-sizes = { php-fpm = "80M" }`` in the host's [[hosts]] profile."""
    size = host.declared_size(SERVICE, config.source.path)
    if not size:
        return None
    return ChildSize(size.value, "declared per-child size", (Evidence(
        f"php-fpm child = {format_size(size.value)}", size.source),))


def _from_memory_limit(host, config: FpmConfig, pool: Pool) -> ChildSize:
    limit, evidence = memory_limit(host, config, pool)
    if limit is None:
        return ChildSize(None, "memory_limit", tuple(evidence))
    evidence.append(Evidence(f"+ {format_size(BASE)} base per child (interpreter, "
                             "extensions, opcache share): an upper bound", "oomaudit"))
    return ChildSize(limit + BASE, "memory_limit + base", tuple(evidence))
