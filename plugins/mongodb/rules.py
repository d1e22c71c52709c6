"""MONGO001-MONGO002: each mongod's WiredTiger cache against the host.

MONGO001 is a ``cacheSizeGB`` above the RAM itself: set for another host. MONGO002 is a
cache (set, or mongod's default) that fits in RAM but not in what the other services of
the memory ledger leave it. The cache the fixes propose is 80% of what is left, for the
connections and operations mongod keeps outside it, in GB with two decimals as
``cacheSizeGB`` takes it (never below mongod's 0.25).
"""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.ledger import Room
from oomaudit.parsers.mongodconf import LOWEST
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import sized, where
from .constants import PLUGIN

GiB = 1 << 30
OVERHEAD = 0.8  # the share of what is left that the cache may take


def _room(host, config, ram) -> Room:
    """RAM left for ``config`` once every other consumer of the ledger has its share."""
    return host.ledger.room(host.cache.get("mongodb.claims", {}).get(id(config)), ram, "mongod")


def _fix(config, left: int) -> str:
    size = int(max(left, 0) * OVERHEAD / GiB * 100) / 100
    if size < LOWEST:
        return ("the other services already claim this host's RAM: move mongod to another "
                "host, or shrink what the others take")
    return snippet("in {file}:\nstorage:\n  wiredTiger:\n    engineConfig:\n"
                   f"      cacheSizeGB: {size:g}   # {OVERHEAD:.0%} of the {format_size(left)} "
                   "left for it", file=config.source.display)


def _findings(host, rule: str, above_ram: bool):
    ram = host.require("ram")
    for config in host.documents(PLUGIN):
        size = None if config.failed else sized(config, ram)
        if size is None:
            continue
        nbytes, how = size
        if (nbytes > ram.value) != above_ram:
            continue
        room = _room(host, config, ram)
        left = room.left
        if not above_ram and (nbytes <= left or not room.judged):
            continue
        said = (f"above this host's RAM {format_size(ram.value)}: set for another host" if
                above_ram else f"above the {format_size(max(left, 0))} of RAM the other "
                               "services leave it")
        yield Finding(
            rule, f"MongoDB's WiredTiger cache {format_size(nbytes)} is {said}; a full cache "
            "pushes the host into the OOM killer", config.source.display, config.line,
            [Evidence(how, where(config)), *room.evidence],
            _fix(config, left), key="cacheSizeGB")


def check_mongo001(host):
    """cacheSizeGB above the host's RAM."""
    yield from _findings(host, "MONGO001", True)


def check_mongo002(host):
    """The cache within RAM, but above what the other services leave."""
    yield from _findings(host, "MONGO002", False)
