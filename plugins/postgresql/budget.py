"""A PostgreSQL cluster's entry in the host's memory ledger (the ``oomaudit_budget`` hook):
its worst case as ``worstcase`` sums it, which PG002 judges too.
"""
from __future__ import annotations

from oomaudit.plugins.containers.constants import COMPOSE

from .clusters import clusters
from .constants import PLUGIN
from .worstcase import sum_text, worst_case


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
