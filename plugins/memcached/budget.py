"""Each memcached in the host's memory ledger (the ``oomaudit_budget`` hook).

``-m`` bounds the item memory (the slabs memcached fills before it evicts); the hash
table and each connection's buffers come on top, small beside it and not counted: the
ledger's how says so.
"""
from __future__ import annotations

from oomaudit.units import format_size

from .constants import PLUGIN, SERVICE


def where(config) -> str:
    return f"{config.source.display}:{config.line}" if config.line else config.source.display


def add_to_ledger(host) -> None:
    claims = host.cache.setdefault("memcached.claims", {})
    for config in host.documents(PLUGIN):
        if config.failed:
            continue
        host.ledger.add(SERVICE, config.memory.bytes,
                        f"{config.memory.said}: item memory {format_size(config.memory.bytes)}"
                        " (hash table and connection buffers on top, not counted)",
                        where(config), PLUGIN)
        claims[id(config)] = host.ledger.consumers[-1]
