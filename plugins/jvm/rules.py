"""JVM001-JVM003: each JVM a unit starts against the RAM the other services leave it (001)
and against the unit's own memory limit (002), and an -Xmx that a later one overrides (003).

A JVM's size is its maximum heap plus the overhead ``heap.Heap`` documents; a fix proposes
the largest heap whose process fits (``budget.fitting_heap``) and says where to write it.
"""
from __future__ import annotations

from oomaudit.plugins.systemd.dropins import dropin_fix

from oomaudit import Evidence, Finding
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import Sized, sized
from .heap import fitting_heap, read_options


def _evidence(item: Sized) -> list[Evidence]:
    start, heap = item.start, item.heap
    found = [Evidence(f"unit {start.unit.name}: {start.how}", start.source),
             Evidence(f"maximum heap {format_size(heap.bytes)}: {heap.how}",
                      heap.where or start.source),
             Evidence(f"JVM process up to {format_size(heap.process)}: {heap.process_how()}")]
    found += [Evidence(f"EnvironmentFile={path} not read (a config repository holds no "
                       "such path): options it sets are not counted") for path in start.unread]
    if start.limit is not None:
        found.append(Evidence(f"unit memory limit {start.limit_setting} "
                              f"({format_size(start.limit)})", start.limit_source))
    return found


def _heap_fix(item: Sized, room: int) -> str:
    """Where to write a heap that fits ``room`` bytes."""
    heap = fitting_heap(room)
    if heap < 64 << 20:
        return ("the room left is too small for a JVM: give the host more RAM or move a "
                "service elsewhere")
    flag = f"-Xmx{heap >> 20}m"
    if item.heap.explicit:
        return snippet(f"in {{where}}: replace the heap flag with {flag}", where=item.heap.where)
    tool = item.start.env.get("JAVA_TOOL_OPTIONS")
    if tool is not None:
        return snippet(f"append {flag} to JAVA_TOOL_OPTIONS ({{where}})", where=tool.where)
    return dropin_fix(item.start.unit, "Environment", f"Environment=JAVA_TOOL_OPTIONS={flag}",
                      name="jvm-heap.conf")


def check_jvm001(host):
    ram = host.require("ram")
    for item in sized(host):
        room = host.ledger.room(item.consumer, ram, item.start.unit.name)
        left = room.left
        if item.consumer.bytes <= left or not room.judged:
            continue
        yield Finding(
            "JVM001",
            f"JVM of {item.start.unit.name} may reach {format_size(item.consumer.bytes)} "
            f"(heap {format_size(item.heap.bytes)} + overhead), above the "
            f"{format_size(max(left, 0))} of RAM the other services leave it",
            item.start.unit.fragment.display, None,
            [*_evidence(item), *room.evidence],
            _heap_fix(item, left), key=item.start.unit.name)


def check_jvm002(host):
    for item in sized(host):
        limit = item.start.limit
        if limit is None or item.heap.process <= limit or item.heap.from_limit:
            continue  # a heap the JVM sized from the limit itself is its own choice
        unit = item.start.unit
        raise_to = -(-item.heap.process // (1 << 20))
        yield Finding(
            "JVM002",
            f"JVM of {unit.name}: heap {format_size(item.heap.bytes)} + overhead "
            f"{format_size(item.heap.overhead)} = {format_size(item.heap.process)} is above "
            f"the unit's memory limit {format_size(limit)}: the kernel kills it inside the "
            "unit before the heap is full",
            unit.fragment.display, None, _evidence(item),
            f"either a smaller heap: {_heap_fix(item, limit)}\nor a higher limit:\n"
            + dropin_fix(unit, "MemoryMax", f"MemoryMax={raise_to}M", name="memory.conf"),
            key=unit.name)


def check_jvm003(host):
    for item in sized(host):
        options = read_options(item.start.words)
        if not options.repeated:
            continue
        last = options.get("MaxHeapSize").word
        yield Finding(
            "JVM003",
            f"JVM of {item.start.unit.name} is given the heap {len(options.repeated) + 1} "
            f"times: the last, {last.text}, wins",
            item.start.unit.fragment.display, None,
            [*(Evidence(f"{w.text} (overridden)", w.where) for w in options.repeated),
             Evidence(f"{last.text} (in effect)", last.where)],
            f"keep one heap flag: {last.text} in {last.where}, drop the others",
            key=item.start.unit.name)
