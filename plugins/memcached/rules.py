"""MEMCACHED001-MEMCACHED002: each memcached's item memory (``-m``) against the host.

MEMCACHED001 is a ``-m`` above the RAM itself: set for another host (a copied config), it
can never be met here. MEMCACHED002 is one that fits in RAM but not in what the other
services of the memory ledger leave it (other memcached instances included). The ``-m``
the fixes propose is 80% of what is left, for the hash table and connection buffers that
memcached keeps outside it.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.ledger import Room
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import CLAIMS
from .instances import Instance, instances

MiB = 1 << 20
OVERHEAD = 0.8  # the share of what is left that -m may take


def _setting(instance: Instance) -> Evidence:
    return Evidence(f"{instance.memory.said}: item memory "
                    f"{format_size(instance.memory.bytes)} (megabytes, as memcached reads -m)",
                    instance.where)


def _room(host, instance: Instance, ram) -> Room:
    """RAM left for ``instance`` once every other consumer of the ledger has its share."""
    return host.ledger.room(host.cache.get(CLAIMS, {}).get(id(instance)), ram, "memcached")


def _fix(instance: Instance, left: int) -> str:
    size = int(max(left, 0) * OVERHEAD) // MiB
    if size < 2:
        return ("the other services already claim this host's RAM: move memcached to "
                "another host, or shrink what the others take, then set -m")
    return snippet(f"in {{file}}:\n-m {size}\n# {OVERHEAD:.0%} of the {format_size(left)} "
                   "left for it, in megabytes", file=instance.path)


def _findings(host, rule: str, above_ram: bool):
    for instance in instances(host):
        ram = host.require("ram")
        nbytes = instance.memory.bytes
        if (nbytes > ram.value) != above_ram:
            continue
        room = _room(host, instance, ram)
        left = room.left
        if not above_ram and (nbytes <= left or not room.judged):
            continue
        said = (f"above this host's RAM {format_size(ram.value)}: sized for another host, it "
                "fills until the OOM killer ends it" if above_ram else
                f"above the {format_size(max(left, 0))} of RAM the other services leave it: "
                "a full cache pushes the host into the OOM killer")
        name = "" if instance.name == instance.path else f"{instance.name}: "
        yield Finding(
            rule, f"{name}memcached's item memory {format_size(nbytes)} "
            f"({instance.memory.said}) is {said}", instance.path, instance.line,
            [_setting(instance), *room.evidence], _fix(instance, left), key=f"{name}-m")


def check_memcached001(host):
    """-m above the host's RAM: sized for another host."""
    yield from _findings(host, "MEMCACHED001", True)


def check_memcached002(host):
    """-m within RAM, but above what the other services leave."""
    yield from _findings(host, "MEMCACHED002", False)
