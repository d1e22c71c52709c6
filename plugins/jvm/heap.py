"""A JVM's maximum heap from its options, computed as HotSpot 17 computes ``MaxHeapSize``
(``Arguments::set_heap_size`` in arguments.cpp), and the process around it.

Options come as words in the order the JVM reads them (``JAVA_TOOL_OPTIONS``, then
``JDK_JAVA_OPTIONS`` for the ``java`` launcher, the command line, ``_JAVA_OPTIONS`` last):
for each flag the last occurrence wins. Without ``-Xmx``/``-XX:MaxHeapSize`` the heap is
``MaxRAMPercentage`` (25) of the RAM the JVM sees: the container's or unit's memory limit
when ``UseContainerSupport`` is on (the default), or ``-XX:MaxRAM`` when given; on a small
machine (``MinRAMPercentage``, 50, of it below 124.8 MiB) that share instead. The result is
before the collector rounds it up to its alignment (a G1 region or 2 MiB, at most 32 MiB):
tests/jvm/test_jvm_oracle.py holds it to ``java -XX:+PrintFlagsFinal`` within that.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.cnumbers import digits as c_digits
from oomaudit.units import format_size

MIB = 1 << 20
DEFAULT_MAX_RAM = 128 << 30  # MaxRAM's default on 64-bit
DEFAULT_MAX_HEAP = 130862280  # MaxHeapSize's default, ScaleForWordSize(96M) on 64-bit
COOP_LIMIT = (32 << 30) - (32 << 20)  # about where compressed oops stop (no flag overrides)
# Heap is not the process: metaspace, the code cache (240 MiB reserved with tiered
# compilation), a 1 MiB stack per thread, direct buffers and GC structures. Counted as a
# quarter of the heap, at least 256 MiB.
OVERHEAD_SHARE, OVERHEAD_MIN = 0.25, 256 * MIB

_SIZE = r"(\d+)([kKmMgGtT]?)"
_FLAGS = (  # flag name -> regex of the word (the value in group 1.., the JVM's syntax);
    # compiled on first use by re's cache: ES nodes and compose services import this module
    ("MaxHeapSize", rf"-(?:Xmx|XX:MaxHeapSize=){_SIZE}\Z"),
    ("InitialHeapSize", rf"-(?:Xms|XX:InitialHeapSize=){_SIZE}\Z"),
    ("MaxRAM", rf"-XX:MaxRAM={_SIZE}\Z"),
    ("MaxRAMPercentage", r"-XX:MaxRAMPercentage=(\d+(?:\.\d*)?)\Z"),
    ("MinRAMPercentage", r"-XX:MinRAMPercentage=(\d+(?:\.\d*)?)\Z"),
    ("MaxRAMFraction", r"-XX:MaxRAMFraction=(\d+)\Z"),
    ("MinRAMFraction", r"-XX:MinRAMFraction=(\d+)\Z"),
    ("InitialRAMPercentage", r"-XX:InitialRAMPercentage=(\d+(?:\.\d*)?)\Z"),
    ("UseContainerSupport", r"-XX:([+-])UseContainerSupport\Z"),
)
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}


class Word(NamedTuple):
    """One option word and where it was written (file:line, or the variable)."""

    text: str
    where: str


class Flag(NamedTuple):
    value: int | float | bool
    word: Word


class Options(NamedTuple):
    """The flags that size the heap, each its last occurrence; ``repeated`` holds every
    earlier ``-Xmx``/``MaxHeapSize`` the last one overrides."""

    flags: dict[str, Flag]
    repeated: list[Word]

    def get(self, name: str) -> Flag | None:
        return self.flags.get(name)


class Heap(NamedTuple):
    bytes: int
    how: str  # the arithmetic, for evidence and the ledger
    where: str  # where the deciding flag is ("" for the JVM's default)
    explicit: bool  # -Xmx/-XX:MaxHeapSize was given
    from_limit: bool = False  # the JVM's own default, a share of the memory limit it sees

    @property
    def overhead(self) -> int:
        return max(OVERHEAD_MIN, int(self.bytes * OVERHEAD_SHARE))

    @property
    def process(self) -> int:
        """Heap plus the overhead: what the JVM process may reach."""
        return self.bytes + self.overhead

    def process_how(self) -> str:
        return (f"heap {format_size(self.bytes)} ({self.how}) + overhead "
                f"{format_size(self.overhead)} (metaspace, code cache, thread stacks, direct "
                f"buffers: max(256 MiB, 25% of heap))")


def fitting_heap(room: int) -> int:
    """The largest heap whose process (heap + overhead) fits in ``room`` bytes."""
    return max(min(room - OVERHEAD_MIN, int(room / (1 + OVERHEAD_SHARE))), 0)


def _value(name: str, match: re.Match) -> int | float | bool:
    if name == "UseContainerSupport":
        return match.group(1) == "+"
    if name.endswith("Percentage"):
        return float(match.group(1))
    if name.endswith("Fraction"):
        return c_digits(match.group(1))
    return c_digits(match.group(1)) << _SHIFT[match.group(2).lower()]


def read_options(words: list[Word]) -> Options:
    """The sizing flags among ``words`` (in the JVM's reading order); other words are the
    JVM's business and are ignored."""
    flags: dict[str, Flag] = {}
    repeated: list[Word] = []
    for word in words:
        for name, pattern in _FLAGS:
            match = re.match(pattern, word.text)
            if match:
                if name == "MaxHeapSize" and name in flags:
                    repeated.append(flags[name].word)
                flags[name] = Flag(_value(name, match), word)
                break
    return Options(flags, repeated)


def max_heap(options: Options, ram: int, limit: int | None = None,
             limit_source: str = "") -> Heap:
    """MaxHeapSize for a JVM with ``options`` on a host with ``ram`` bytes, inside a memory
    ``limit`` (a unit's MemoryMax, a container's) when there is one."""
    given = options.get("MaxHeapSize")
    if given is not None:
        return Heap(int(given.value), given.word.text, given.word.where, True)
    container = options.get("UseContainerSupport")
    aware = container is None or container.value
    seen, seen_how = ram, f"RAM {format_size(ram)}"
    if aware and limit is not None and limit < ram:
        seen, seen_how = limit, f"memory limit {format_size(limit)} ({limit_source})"
    max_ram = options.get("MaxRAM")
    override = max_ram is not None or any(options.get(f) for f in (
        "MaxRAMPercentage", "MaxRAMFraction", "MinRAMPercentage", "MinRAMFraction",
        "InitialRAMPercentage"))
    if max_ram is not None:
        seen, seen_how = int(max_ram.value), max_ram.word.text
    elif not override and seen > DEFAULT_MAX_RAM:
        seen, seen_how = DEFAULT_MAX_RAM, "MaxRAM default 128 GiB"
    percent, percent_how = _percentage(options, "Max", 25.0)
    minimum, _ = _percentage(options, "Min", 50.0)
    small = int(seen * minimum / 100)
    if small < DEFAULT_MAX_HEAP:
        heap, how = small, f"{minimum:g}% (MinRAMPercentage, a small machine) of {seen_how}"
    else:
        heap = max(int(seen * percent / 100), DEFAULT_MAX_HEAP)
        how = f"{percent:g}% ({percent_how}) of {seen_how}"
        if not override and heap > COOP_LIMIT:
            heap, how = COOP_LIMIT, f"{how}, capped near 32 GiB for compressed oops"
    initial = options.get("InitialHeapSize")
    if initial is not None and int(initial.value) > heap:
        heap, how = int(initial.value), f"{initial.word.text} (above {how})"
    deciding = initial or options.get("MaxRAMPercentage") or options.get("MaxRAMFraction")
    return Heap(heap, f"JVM default: {how}", deciding.word.where if deciding else "", False,
                deciding is None and max_ram is None and seen == limit)


def _percentage(options: Options, side: str, default: float) -> tuple[float, str]:
    """``MaxRAMPercentage`` (or ``Min``), or 100/``MaxRAMFraction`` when only that is set."""
    percent = options.get(f"{side}RAMPercentage")
    if percent is not None:
        return float(percent.value), percent.word.text
    fraction = options.get(f"{side}RAMFraction")
    if fraction is not None and fraction.value:
        return 100.0 / int(fraction.value), fraction.word.text
    return default, f"{side}RAMPercentage default"
