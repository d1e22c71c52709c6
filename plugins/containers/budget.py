"""The containers plugin's share of the memory ledger: each compose service at its limit
times its replicas (or, unlimited, at what the service inside reserves).
"""
from __future__ import annotations

from .constants import COMPOSE, KUBERNETES


def budget(host):
    """Read everything before the rules run (the CONF rules report what reading found),
    then put each compose service in the ledger. Each format's code comes with its files."""
    if host.documents(KUBERNETES):
        from .kubernetes import kube_containers

        kube_containers(host)
    if not host.documents(COMPOSE):
        return
    from oomaudit.parsers.compose_tree import Problem

    from .projects import report_problem, services
    from .services import limits, replicas, service_needs

    for _, service in services(host):
        limit, reservation = limits(service)
        for size in (limit, reservation):
            if size.error:
                report_problem(host, Problem("CONF001", size.error, size.leaf.path,
                                             size.leaf.line, f"{service.name}: {size.key}"))
        service_needs(host, service)
        count = replicas(service)
        if not count:
            continue
        times = f" x {count} replicas" if count > 1 else ""
        if limit.bytes:
            host.ledger.add(f"compose:{service.name}", limit.bytes * count,
                            f"{limit.shown}{times} (the container's hard limit)",
                            limit.leaf.where, "containers")
            continue
        need = service_needs(host, service)
        if need:
            top = max(need, key=lambda n: n.bytes)
            host.ledger.add(f"compose:{service.name}", top.bytes * count,
                            f"unbounded: no memory limit; at least its {top.setting}{times}",
                            f"{top.path}:{top.line}", "containers")
