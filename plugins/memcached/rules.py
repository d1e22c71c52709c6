"""MEMCACHED001-MEMCACHED002: each memcached's item memory (``-m``) against the host.

MEMCACHED001 is a ``-m`` above the RAM itself: set for another host (a copied config), it
can never be met here. MEMCACHED002 is one that fits in RAM but not in what the other
services of the memory ledger leave it (other memcached instances included). The ``-m``
the fixes propose is 80% of what is left, for the hash table and connection buffers that
memcached keeps outside it.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.units import format_size

from .budget import where
from .constants import PLUGIN

MiB = 1 << 20
OVERHEAD = 0.8  # the share of what is left that -m may take


def _judged(host):
    return [c for c in host.documents(PLUGIN) if not c.failed]


def _setting(config) -> Evidence:
    return Evidence(f"{config.memory.said}: item memory {format_size(config.memory.bytes)} "
                    "(megabytes, as memcached reads -m)", where(config))


def _left(host, config, ram: int) -> tuple[int, list[Evidence]]:
    """RAM left for ``config`` once every other consumer of the ledger has its share."""
    own = host.cache.get("memcached.claims", {}).get(id(config))
    others = [c for c in host.ledger.consumers if c is not own]
    return ram - sum(c.bytes for c in others), [
        Evidence(f"{c.service}: {format_size(c.bytes)} = {c.how}", c.source) for c in others]


def _fix(config, left: int) -> str:
    size = int(max(left, 0) * OVERHEAD) // MiB
    if size < 2:
        return ("the other services already claim this host's RAM: move memcached to "
                "another host, or shrink what the others take, then set -m")
    return (f"in {config.source.display}:\n-m {size}\n# {OVERHEAD:.0%} of the "
            f"{format_size(left)} left for it, in megabytes")


def check_memcached001(host):
    """-m above the host's RAM: sized for another host."""
    for config in _judged(host):
        ram = host.require("ram")
        if config.memory.bytes <= ram.value:
            continue
        left, others = _left(host, config, ram.value)
        yield Finding(
            "MEMCACHED001", f"memcached's item memory {format_size(config.memory.bytes)} "
            f"({config.memory.said}) is above this host's RAM {format_size(ram.value)}: "
            "sized for another host, it fills until the OOM killer ends it",
            config.source.display, config.line,
            [_setting(config), Evidence(f"RAM = {format_size(ram.value)}", ram.source),
             *others], _fix(config, left), key="-m")


def check_memcached002(host):
    """-m within RAM, but above what the other services leave."""
    for config in _judged(host):
        ram = host.require("ram")
        if config.memory.bytes > ram.value:
            continue  # MEMCACHED001's
        left, others = _left(host, config, ram.value)
        if config.memory.bytes <= left:
            continue
        yield Finding(
            "MEMCACHED002", f"memcached's item memory {format_size(config.memory.bytes)} "
            f"({config.memory.said}) is above the {format_size(max(left, 0))} of RAM the "
            "other services leave it: a full cache pushes the host into the OOM killer",
            config.source.display, config.line,
            [_setting(config), Evidence(f"RAM = {format_size(ram.value)}", ram.source),
             *others], _fix(config, left), key="-m")
