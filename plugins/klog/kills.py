"""A host's OOM kills, aggregated as they are read: what the KLOG rules and the kills table
need, in memory bounded whatever the number of kills (a host in an OOM loop logs millions
in a month; keeping each event took gigabytes).

Per victim name: how many, the last ``RECENT`` read (KLOG001's evidence), the latest (by
time, then line) and the unit the latest read kill with one in its cgroup ran in. Per
memory cgroup and victim: the first kill (KLOG002's) and how many. At most ``MAX_KEYS``
names and as many cgroups are kept apart; later names are counted as one
"(other processes)", later cgroups are not reported by KLOG002.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime, timezone

from oomaudit.parsers.kernlog_event import OomEvent
from oomaudit.record import Record

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def unit_of(cgroup: str | None) -> str | None:
    """The systemd unit or container scope a cgroup path ends in."""
    for part in reversed((cgroup or "").split("/")):
        if part.endswith((".service", ".scope")):
            return part
    return None


def _latest(event: OomEvent) -> tuple:
    return event.time is not None, event.time or _EPOCH, event.line


class Victim(Record):
    """The kills of one process name."""

    RECENT = 5

    def __init__(self):
        self.count = 0
        self.recent: deque[OomEvent] = deque(maxlen=self.RECENT)
        self.last: OomEvent | None = None
        self.unit: str | None = None

    def add(self, event: OomEvent) -> None:
        self.count += 1
        self.recent.append(event)
        if self.last is None or _latest(event) > _latest(self.last):
            self.last = event
        self.unit = unit_of(event.memcg) or self.unit


class HostKills(Record):
    """Every kill of a host's window, aggregated by ``add``."""

    MAX_KEYS = 1000
    OTHERS = "(other processes)"

    def __init__(self):
        self.count = 0
        self.victims: dict[str, Victim] = {}
        self.cgroups: dict[tuple[str | None, str | None], list] = {}  # -> [first, count]

    def add(self, event: OomEvent) -> None:
        self.count += 1
        name = event.process or f"pid {event.pid}"
        if name not in self.victims and len(self.victims) >= self.MAX_KEYS:
            name = self.OTHERS
        victim = self.victims.get(name)
        if victim is None:
            victim = self.victims[name] = Victim()
        victim.add(event)
        if event.scope == "memcg":
            key = (event.oom_memcg or event.memcg, event.process)
            if key in self.cgroups:
                self.cgroups[key][1] += 1
            elif len(self.cgroups) < self.MAX_KEYS:
                self.cgroups[key] = [event, 1]
