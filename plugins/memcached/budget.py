"""Each memcached instance in the host's memory ledger (the ``oomaudit_budget`` hook).

``-m`` bounds the item memory (the slabs memcached fills before it evicts); the hash
table and each connection's buffers come on top, small beside it and not counted: the
ledger's how says so.
"""
from __future__ import annotations

from oomaudit.units import format_size

from .constants import PLUGIN, SERVICE
from .instances import instances

CLAIMS = "memcached.claims"


def add_to_ledger(host) -> None:
    claims = host.cache.setdefault(CLAIMS, {})
    for instance in instances(host):
        host.ledger.add(SERVICE, instance.memory.bytes,
                        f"{instance.memory.said}: item memory "
                        f"{format_size(instance.memory.bytes)} (hash table and connection "
                        "buffers on top, not counted)", instance.where, PLUGIN)
        claims[id(instance)] = host.ledger.consumers[-1]
