"""Each mongod in the host's memory ledger (the ``oomaudit_budget`` hook): its WiredTiger
cache, set or mongod's default for the RAM it sees. The cache is what mongod sizes; its
connections (about 1 MiB each), index builds and aggregations come on top and are not
counted, which the ledger's how says."""
from __future__ import annotations

from oomaudit.parsers.mongodconf import KEY
from oomaudit.units import format_size

from .constants import PLUGIN, SERVICE

ON_TOP = "connections, index builds and aggregations on top, not counted"


def where(config) -> str:
    return f"{config.source.display}:{config.line}" if config.line else config.source.display


def sized(config, ram) -> tuple[int, str] | None:
    """(bytes, how) of one mongod's cache; None when it is the default and RAM unknown."""
    if config.cache_gb is not None:
        nbytes = config.cache(0)
        return nbytes, f"cacheSizeGB {config.cache_gb:g}: WiredTiger cache " \
                       f"{format_size(nbytes)} ({ON_TOP})"
    if ram is None:
        return None
    nbytes = config.cache(ram.value)
    return nbytes, (f"{KEY.rsplit('.', 1)[1]} not set: mongod's default, the larger of 50% "
                    f"of (RAM {format_size(ram.value)} - 1 GiB) and 256 MiB = "
                    f"{format_size(nbytes)} ({ON_TOP})")


def add_to_ledger(host) -> None:
    claims = host.cache.setdefault("mongodb.claims", {})
    ram = host.fact("ram")
    for config in host.documents(PLUGIN):
        size = None if config.failed else sized(config, ram)
        if size is None:
            continue
        host.ledger.add(SERVICE, size[0], size[1], where(config), PLUGIN)
        claims[id(config)] = host.ledger.consumers[-1]
