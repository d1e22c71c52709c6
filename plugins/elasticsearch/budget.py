"""Each Elasticsearch or OpenSearch node in the memory ledger (the ``oomaudit_budget``
hook), as services ``elasticsearch`` and ``opensearch``: its heap plus the JVM plugin's
documented overhead (``Heap.process``). A compose service with a memory limit is in the
ledger at that limit already (the containers plugin's entry), so only nodes without one
are added, and no node whose jvm.options a compose service bind-mounts.
"""
from __future__ import annotations

from oomaudit.plugins.jvm.heap import Heap

from .constants import PLUGIN
from .heap import heap
from .nodes import Node, nodes


def sized(host, node: Node) -> Heap | None:
    """The node's maximum heap, inside its container's limit when it has one (None when
    it is a share of a RAM nobody declared)."""
    ram = host.fact("ram")
    limit, _, where, key = node.limit or (None, "", "", "")
    return heap(node.words, node.flavour, ram.value if ram else None, limit,
                f"{key} {where}" if limit else "")


def add_to_ledger(host) -> None:
    for node in nodes(host):
        found = None if node.limit or node.mounted else sized(host, node)
        if found is not None:
            host.ledger.add(node.flavour, found.process, f"{node.display}: "
                            f"{found.process_how()}", found.where or node.path, PLUGIN)
