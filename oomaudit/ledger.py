"""The memory ledger: every service's worst-case memory, in one place.

Each plugin adds the consumers it knows (MySQL's buffers, PHP-FPM's children,
a container's limit) with how the number was computed and where it came from.
Rules ask the ledger for "RAM left for X" instead of each doing its own sum, so
two rules never disagree about the same host, and HOST002 / ``oomaudit budget``
show the whole picture.
"""
from __future__ import annotations

from typing import NamedTuple

from .record import Record


class Consumer(NamedTuple):
    """One service's claim on RAM: its worst case, the arithmetic behind it and where the
    numbers came from, as HOST002 and ``oomaudit budget`` show it."""

    service: str  # "mysql", "php-fpm", "apache", a unit or container name
    bytes: int  # worst case
    how: str  # the arithmetic, e.g. "pm.max_children 50 x 64.0 MiB (measured average RSS)"
    source: str  # file:line, or "live: ..." for a measurement
    plugin: str = ""


class Ledger(Record):
    """A host's consumers, in the order the plugins added them (``oomaudit_budget``). Rules
    ask ``left_for`` instead of summing on their own, so that no two rules disagree."""

    def __init__(self, consumers: list[Consumer] | None = None):
        self.consumers = [] if consumers is None else consumers

    def add(self, service: str, nbytes: int, how: str, source: str, plugin: str = "") -> None:
        self.consumers.append(Consumer(service, int(nbytes), how, source, plugin))

    def total(self) -> int:
        return sum(c.bytes for c in self.consumers)

    def claimed_by(self, service: str) -> int:
        return sum(c.bytes for c in self.consumers if c.service == service)

    def left_for(self, service: str, ram: int) -> int:
        """RAM minus what every *other* service claims: what ``service`` may use at worst
        without pushing the host into the OOM killer (negative when others already exceed RAM)."""
        return ram - (self.total() - self.claimed_by(service))
