"""The memory ledger: every service's worst-case memory, in one place.

Each plugin adds the consumers it knows (MySQL's buffers, PHP-FPM's children,
a container's limit) with how the number was computed and where it came from.
Rules ask the ledger for the room a service has (``room``, ``left_for``) instead of each
doing its own sum, so two rules never disagree about the same host, and HOST002 /
``oomaudit budget`` show the whole picture.

The ledger is in every report (JSON's ``hosts[].ledger``, the text report's bar under
HOST002, ``oomaudit budget``), so a finding names the budget once: its own numbers, what
the others claim in total with the largest of them, and RAM (``Room.evidence``, a few
lines whatever the number of services), never a copy of every consumer. One cause, one
finding: a consumer that alone claims more than RAM is set aside when the others' room is
reckoned (its own rule and HOST002 name that overflow), and a service the others leave
nothing is not judged by its rule (HOST002 says which, ``Ledger.unjudged``).

A consumer counts once, at most at what caps it: a systemd unit's MemoryMax= keeps the
service it runs within the limit, whatever its own settings reserve (SYSTEMD007 judges
those against the limit). A plugin that knows such caps registers them (``capped_by``);
the ledger counts ``min(worst case, cap)`` and says so in the consumer's arithmetic, while
``consumers`` keep the worst cases their own settings give.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from .model import Evidence
from .record import Record
from .units import format_size

LEDGER = "memory ledger: the report's ledger, drawn by 'oomaudit budget'"


class Consumer(NamedTuple):
    """One service's claim on RAM: its worst case, the arithmetic behind it and where the
    numbers came from, as HOST002 and ``oomaudit budget`` show it."""

    service: str  # "mysql", "php-fpm", "apache", a unit or container name
    bytes: int  # worst case
    how: str  # the arithmetic, e.g. "pm.max_children 50 x 64.0 MiB (measured average RSS)"
    source: str  # file:line, or "live: ..." for a measurement
    plugin: str = ""


class Room(NamedTuple):
    """What the other consumers leave one service: ``left`` bytes of RAM, ``evidence`` that
    says so in a few lines, and ``judged``: False when the others (set aside what alone
    exceeds RAM) already claim all of it, so there is nothing to judge the service against
    and its rule stays silent (HOST002 names the overflow once)."""

    left: int
    judged: bool
    evidence: list[Evidence]


class Ledger(Record):
    """A host's consumers, in the order the plugins added them (``oomaudit_budget``). Rules
    ask ``room`` or ``left_for`` instead of summing on their own, so that no two rules
    disagree; totals are kept as consumers are added, so each question costs the same
    whatever the number of services."""

    def __init__(self, consumers: list[Consumer] | None = None):
        self.consumers: list[Consumer] = []  # each at its own worst case, caps aside
        self._total = 0
        self._by_service: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._largest: list[Consumer] | None = []  # as counted, largest first; None: stale
        self._cappers: list[Callable[[], Iterable[tuple[Consumer, int, str]]]] = []
        self._caps: dict[int, tuple[int, str]] = {}  # id(consumer) -> (bytes, why)
        self._settled = 0  # how many consumers the caps were found for
        for c in consumers or ():
            self._count(c)

    def add(self, service: str, nbytes: int, how: str, source: str, plugin: str = "") -> None:
        self._count(Consumer(service, int(nbytes), how, source, plugin))

    def _count(self, c: Consumer) -> None:
        self.consumers.append(c)
        self._total += c.bytes
        self._by_service[c.service] = self._by_service.get(c.service, 0) + c.bytes
        self._counts[c.service] = self._counts.get(c.service, 0) + 1
        self._largest = None

    def capped_by(self, caps: Callable[[], Iterable[tuple[Consumer, int, str]]]) -> None:
        """Register ``caps``: called once the ledger is filled (again whenever consumers were
        added since), it gives (consumer, bytes, why) for each consumer something outside
        its own settings caps, such as a unit's MemoryMax=. The smallest cap counts."""
        self._cappers.append(caps)
        self._settled = -1

    def _settle(self) -> None:
        if self._settled == len(self.consumers):
            return
        self._settled = len(self.consumers)
        for c in self.consumers:  # back to the worst cases, then the caps found now
            self._retally(c, self._caps.pop(id(c), (c.bytes,))[0], c.bytes)
        for caps in self._cappers:
            for c, nbytes, why in caps():
                if nbytes < self.counted(c):
                    self._retally(c, self.counted(c), nbytes)
                    self._caps[id(c)] = (nbytes, why)
        self._largest = None

    def _retally(self, c: Consumer, was: int, now: int) -> None:
        self._total += now - was
        self._by_service[c.service] += now - was

    def counted(self, c: Consumer) -> int:
        """What the ledger counts for ``c``: its worst case, or what caps it."""
        return self._caps.get(id(c), (c.bytes,))[0]

    def _how(self, c: Consumer) -> str:
        cap = self._caps.get(id(c))
        return f"{c.how}; {format_size(c.bytes)} at worst, capped: {cap[1]}" if cap else c.how

    def shown(self, c: Consumer) -> str:
        """``c`` as evidence: the service, what is counted and the arithmetic behind it."""
        return f"{c.service}: {format_size(self.counted(c))} = {self._how(c)}"

    def entries(self) -> list[dict]:
        """The consumers as reports hold them: each as counted, a cap in its arithmetic."""
        self._settle()
        return [c._replace(bytes=self.counted(c), how=self._how(c))._asdict()
                for c in self.consumers]

    def total(self) -> int:
        self._settle()
        return self._total

    def claimed_by(self, service: str) -> int:
        self._settle()
        return self._by_service.get(service, 0)

    def largest(self) -> list[Consumer]:
        """Every consumer, the largest first as counted (sorted once per filled ledger)."""
        self._settle()
        if self._largest is None:
            self._largest = sorted(self.consumers, key=lambda c: -self.counted(c))
        return self._largest

    def beyond(self, ram: int, service: str = "") -> list[Consumer]:
        """Consumers that alone claim more than ``ram`` (but ``service``'s own): the cause of
        an overflow, named by their own rules and HOST002, set aside for everyone else."""
        found = []
        for c in self.largest():
            if self.counted(c) <= ram:
                break
            if c.service != service:
                found.append(c)
        return found

    def left_for(self, service: str, ram: int) -> int:
        """RAM minus what every *other* service claims: what ``service`` may use at worst
        without pushing the host into the OOM killer (negative when others already exceed
        RAM). A consumer that alone exceeds RAM is set aside (``beyond``)."""
        aside = sum(self.counted(c) for c in self.beyond(ram, service))
        return ram - (self.total() - self.claimed_by(service) - aside)

    def room(self, own: Consumer | str | None, ram, name: str) -> Room:
        """The room ``own`` has beside the others against ``ram`` (a host fact: value and
        source), with its evidence. ``own`` is a consumer (the service's other consumers,
        another instance say, are others), a service name (all of its consumers are its
        own) or None (nothing in the ledger is its own); ``name`` says whose room it is."""
        if isinstance(own, str):
            service, mine, count = own, self.claimed_by(own), self._counts.get(own, 0)
        else:
            service, mine, count = (own.service, self.counted(own), 1) if own else ("", 0, 0)
        aside = self.beyond(ram.value, service)
        others = self.total() - mine - sum(self.counted(c) for c in aside)
        left = ram.value - others
        evidence = [Evidence(f"RAM = {format_size(ram.value)}", ram.source)]
        if aside:
            more = f" (and {len(aside) - 1} more that alone exceed RAM)" if len(aside) > 1 else ""
            evidence.append(Evidence(f"set aside: {self.shown(aside[0])}, alone above RAM{more}; "
                                     "its own finding and HOST002 name that overflow",
                                     aside[0].source))
        count = len(self.consumers) - count - len(aside)
        if count:
            skip = {id(c) for c in aside}
            top = next(c for c in self.largest() if id(c) not in skip and (
                c.service != service if isinstance(own, str) else c is not own))
            evidence += [Evidence(f"- {self.shown(top)}", top.source)] if count == 1 else [
                Evidence(f"- {count} other consumers of the ledger claim {format_size(others)}",
                         LEDGER),
                Evidence(f"  the largest of them: {self.shown(top)}", top.source)]
        evidence.append(Evidence(f"= {format_size(left)} left for {name}", "memory ledger"))
        return Room(left, self.left_for(service, ram.value) > 0, evidence)

    def summary(self, largest: int = 3) -> list[Evidence]:
        """The ledger in a few lines, for a finding about the host as a whole: the total,
        the ``largest`` consumers with their arithmetic and sources, and the rest counted
        (the ledger itself is in the report)."""
        count = len(self.consumers)
        top, rest = self.largest()[:largest], self.largest()[largest:]
        found = [Evidence(f"{count} consumer{'s' if count != 1 else ''} of the memory ledger: "
                          f"{format_size(self.total())} at worst", LEDGER)]
        found += [Evidence(self.shown(c), c.source) for c in top]
        if rest:
            found.append(Evidence(f"{len(rest)} more: "
                                  f"{format_size(sum(self.counted(c) for c in rest))}", LEDGER))
        return found

    def unjudged(self, ram: int) -> list[str]:
        """The services the others leave no RAM at all (set aside what alone exceeds it):
        their rules do not judge them, HOST002 says so."""
        self._settle()
        return [s for s, n in self._by_service.items() if n and self.left_for(s, ram) <= 0]
