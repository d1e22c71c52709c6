"""Each Redis instance in the host's memory ledger (the ``oomaudit_budget`` hook), and the
redis-server processes that run it on a live host.

``maxmemory`` bounds the dataset as Redis counts it (``used_memory``); while a BGSAVE or
AOF-rewrite child runs, every page the parent writes is copied, up to the whole dataset
again, so an instance that forks for persistence claims twice its maxmemory (Redis's
administration guide: "up to 2 times the memory normally used"). Without maxmemory there
is no bound to claim: a live host counts what redis-server holds now, anything else 0 B,
and REDIS001 says so. An instance whose redis.conf a compose service mounts runs in that
container, which the containers plugin has in the ledger already.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from oomaudit.plugins.containers.constants import COMPOSE

from oomaudit.host import Measured
from oomaudit.units import format_size

from .constants import PLUGIN, SERVER_NAMES, SERVICE
from .instances import Instance, instances

if TYPE_CHECKING:
    from oomaudit.processes import Proc


def running(host, instance: Instance) -> list[Proc]:
    """The live redis-server processes of ``instance``: by the port their process title
    shows (``redis-server 127.0.0.1:6379``, Redis's default proc-title-template), or all of
    them when the host has one instance."""
    if not host.live:
        return []
    from oomaudit.processes import processes

    found = [p for p in processes(host) if p.name in SERVER_NAMES]
    if len(instances(host)) == 1:
        return found
    port = f":{instance['port'].value}"
    return [p for p in found if any(word.endswith(port) for word in p.cmdline[1:])]


def in_containers(host) -> set:
    """The real paths of files a compose service bind-mounts (none without compose)."""
    if not host.documents(COMPOSE):
        return set()
    from oomaudit.plugins.containers.services import mounted_files

    return mounted_files(host)


def add_to_ledger(host) -> None:
    mounted = in_containers(host)
    for instance in instances(host):
        if instance.failed or host.fs.identity(instance.top.path) in mounted:
            continue
        procs = [p for p in running(host, instance) if p.rss is not None]
        if procs:  # what `oomaudit facts` writes: the instance's processes, by its file
            rss = [p.rss for p in procs]
            host.measured[(SERVICE, str(instance.top.path))] = Measured(
                SERVICE, str(instance.top.path), len(procs), sum(rss), max(rss), None, "",
                f"live: {procs[0].name} pid {procs[0].pid}")
        nbytes, how, source = claim(instance, procs)
        host.ledger.add(SERVICE, nbytes, how, source, PLUGIN)
        host.cache.setdefault("redis.claims", {})[id(instance)] = host.ledger.consumers[-1]


def claimed(host, instance: Instance):
    """The ledger's entry for ``instance``: None when it has none (redis-server refuses its
    files, or it runs in a container)."""
    return host.cache.get("redis.claims", {}).get(id(instance))


def claim(instance: Instance, procs: list[Proc]) -> tuple[int, str, str]:
    """(bytes, how, source) of one instance's worst case."""
    limit = instance["maxmemory"]
    if not limit.value:
        if procs:
            rss = sum(p.rss for p in procs)
            return (rss, f"maxmemory not set: no limit (REDIS001); counted at the "
                         f"{format_size(rss)} redis-server holds now",
                    f"live: {procs[0].name} pid {procs[0].pid}")
        return 0, "maxmemory not set: no limit, nothing to count (REDIS001)", \
            limit.where or instance.display
    dataset = f"maxmemory {format_size(limit.value)} (the dataset as Redis counts it)"
    forks = instance.forks()
    if not forks:
        return limit.value, f"{dataset}; no persistence fork", limit.source
    return (2 * limit.value, f"{dataset} + up to {format_size(limit.value)} copied on write "
                             f"while a fork runs ({'; '.join(forks)})", limit.source)
