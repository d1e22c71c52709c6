"""Each JVM a unit starts, in the host's memory ledger: its maximum heap plus the overhead
(``heap.Heap.process``), no more than the unit's memory limit (the kernel kills the unit
there). A default heap needs the RAM the JVM sees: without RAM and without a limit that
JVM is not added (the rules are skipped for want of RAM too).
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.ledger import Consumer

from .constants import PLUGIN, SERVICE, SIZED
from .heap import Heap, max_heap, read_options
from .starts import Start, starts


class Sized(NamedTuple):
    start: Start
    heap: Heap
    consumer: Consumer | None  # its entry in the ledger


def sized(host) -> list[Sized]:
    """Each JVM start with its heap and ledger entry (after ``add_to_ledger``)."""
    return host.cache.get(SIZED, [])


def add_to_ledger(host) -> None:
    ram = host.fact("ram")
    found = []
    for start in starts(host):
        options = read_options(start.words)
        aware = options.get("UseContainerSupport") is None or options.get(
            "UseContainerSupport").value
        if ram is None and options.get("MaxHeapSize") is None and options.get(
                "MaxRAM") is None and (start.limit is None or not aware):
            continue  # the default heap is a share of a RAM nobody declared
        heap = max_heap(options, ram.value if ram else 1 << 62, start.limit, start.limit_source)
        nbytes, how = heap.process, heap.process_how()
        if start.limit is not None and start.limit < nbytes:
            nbytes, how = start.limit, f"{start.limit_setting} caps {how}"
        if start.unread:
            how += f"; not read: EnvironmentFile={', '.join(start.unread)}"
        host.ledger.add(SERVICE, nbytes, f"{start.unit.name}: {how}",
                        heap.where or start.source, PLUGIN)
        found.append(Sized(start, heap, host.ledger.consumers[-1]))
    host.cache[SIZED] = found

