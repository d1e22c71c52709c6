"""The memcached instances of a host: each memcached.conf (what Debian's
systemd-memcached-wrapper hands memcached) and each systemd unit whose ExecStart runs
memcached itself, with its options on the command line. Debian's own units run the
wrapper, so their instance is their memcached.conf's, counted once."""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.parsers.memcached import Memory, getopt, memory

from .constants import PLUGIN, SYSTEMD

CACHE = "memcached.instances"


class Instance(NamedTuple):
    name: str  # the memcached.conf as shown, or the unit's name
    memory: Memory
    path: str  # the file that sets -m (or would)
    line: int | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


def instances(host) -> list[Instance]:
    """Every memcached instance of the host, computed once per host."""
    if CACHE in host.cache:
        return host.cache[CACHE]
    found = [Instance(c.source.display, c.memory, c.source.display, c.line)
             for c in host.documents(PLUGIN) if not c.failed]
    if not host.given_none_of(SYSTEMD):
        found += _from_units(host)
    host.cache[CACHE] = found
    return found


def _from_units(host) -> list[Instance]:
    from oomaudit.plugins.jvm.starts import split
    from oomaudit.plugins.systemd.units import units_of

    found = []
    for unit in units_of(host).loaded():
        if unit.kind != "service" or unit.is_template:
            continue
        execs = unit.values("ExecStart")
        if not execs:
            continue
        unit_file, a = execs[-1]
        words = split(a.value.lstrip("-@:+!"))
        if not words or words[0].rsplit("/", 1)[-1] != "memcached":
            continue
        options, error, _ = getopt(words[1:])
        if error:  # memcached would not start: nothing to count
            continue
        found.append(Instance(unit.name, memory(options, words[1:]), unit_file.display,
                              a.line))
    return found
