"""What the kernel does with the overcommit settings: the values it accepts and its
default for each, the coupling of overcommit_ratio and overcommit_kbytes (writing one
zeroes the other), and CommitLimit computed as mm/util.c computes it."""
from __future__ import annotations

import os
from typing import NamedTuple

from oomaudit.host import Fact
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import Merged, Origin
from oomaudit.record import Record
from oomaudit.units import format_size

MODE, RATIO, KBYTES, PANIC, HUGEPAGES = ("vm/overcommit_memory", "vm/overcommit_ratio",
                                         "vm/overcommit_kbytes", "vm/panic_on_oom",
                                         "vm/nr_hugepages")
# key -> (lowest, highest accepted, kernel default); the kernel rejects values outside
LIMITS = {MODE: (0, 2, 0), RATIO: (-(1 << 31), (1 << 31) - 1, 50), KBYTES: (0, (1 << 64) - 1, 0),
          PANIC: (0, 2, 0), HUGEPAGES: (0, (1 << 64) - 1, 0)}
POLICY = (MODE, RATIO, KBYTES, PANIC)
PAGE = 4096
HUGE_PAGE = 2 << 20  # x86-64's default huge page size, for trees (live: /proc/meminfo)


def kernel_value(key: str, value: str, limits: dict = LIMITS) -> int | None:
    """What the kernel stores when ``value`` is written to ``key``; None: it rejects it."""
    number = fmt.kernel_int(value)
    low, high, _ = limits[key]
    if number is None:
        return None
    if key in (KBYTES, HUGEPAGES) and number < 0:
        return number  # unsigned: a negative value is skipped without an error
    return number if low <= number <= high else None


class Setting(Record):
    """A kernel setting's value after the files were applied (or as /proc/sys holds
    it) and the assignment that gave it; a zeroed one's ``origin`` is its partner's write."""

    def __init__(self, value: int, origin: Origin | None, zeroed: bool = False):
        self.value = value
        self.origin = origin  # None: the kernel default (or live)
        self.zeroed = zeroed  # set to 0 by the kernel when its partner was written

    @property
    def where(self) -> str:
        if self.origin is None:
            return "kernel default, no file sets it"
        if self.zeroed:
            return f"zeroed by the kernel when {self.origin.assignment.name} was written at " \
                   f"{self.origin.where}"
        return self.origin.where


class Policy(Record):
    """The values the kernel ends up with after one program applied the files."""

    def __init__(self, settings: dict[str, Setting],
                 written: dict[str, list[Origin]] | None = None, kbytes_last: bool = False):
        self.settings = settings
        self.written = {} if written is None else written  # accepted writes per key
        self.kbytes_last = kbytes_last  # kbytes written after ratio (the kernel zeroes the other)

    def __getitem__(self, key: str) -> Setting:
        return self.settings[key]


def replay(merged: Merged, limits: dict = LIMITS) -> Policy:
    """Apply ``merged``'s writes to a fresh kernel: defaults, rejected values, and the
    coupling of overcommit_ratio and overcommit_kbytes (writing one zeroes the other).
    ``limits``: the keys to replay, as LIMITS holds them (the vm plugin passes its own)."""
    policy = Policy({k: Setting(v[2], None) for k, v in limits.items()})
    for origin in merged.writes:
        a = origin.assignment
        if a.is_glob:
            keys = [k for k in limits if fmt.matches(a.key, k) and not merged.glob_blocked(k)]
        else:  # one key, looked up: not compared with each
            keys = [a.key] if a.key in limits else []
        for key in keys:
            number = kernel_value(key, a.value, limits)
            if number is None:  # rejected (CONF001 names the line)
                continue
            policy.written.setdefault(key, []).append(origin)
            if number >= 0 or key not in (KBYTES, HUGEPAGES):
                policy.settings[key] = Setting(number, origin)
            if key == KBYTES:
                policy.settings[RATIO] = Setting(0, origin, zeroed=True)
                policy.kbytes_last = True
            elif key == RATIO:
                policy.settings[KBYTES] = Setting(0, origin, zeroed=True)
                policy.kbytes_last = False
    return policy



class Memory(NamedTuple):
    """What CommitLimit is computed from, each with its source."""

    ram: Fact
    huge: Fact
    swap: Fact
    page: int = PAGE


def commit_limit(memory: Memory, ratio: int, kbytes: int) -> tuple[int, str]:
    """mm/util.c vm_commit_limit(), in pages like the kernel, returned in bytes:
    overcommit_kbytes (when non-zero) or (RAM - huge pages) x overcommit_ratio / 100,
    plus swap."""
    page = memory.page
    swap_pages = memory.swap.value // page
    if kbytes:
        pages = kbytes * 1024 // page
        how = (f"vm.overcommit_kbytes {kbytes} ({format_size(pages * page)}) + "
               f"swap {format_size(memory.swap.value)}")
    else:
        pages = (memory.ram.value // page - memory.huge.value // page) * ratio // 100
        how = (f"(RAM {format_size(memory.ram.value)} - huge pages "
               f"{format_size(memory.huge.value)}) x {ratio}% + swap "
               f"{format_size(memory.swap.value)}")
    return (pages + swap_pages) * page, how


def live_meminfo(host) -> dict[str, int] | None:
    """/proc/meminfo of a live host, read once per run by the memory plugin; None otherwise
    (the memory plugin's code is imported only for a live host)."""
    if not host.live:
        return None
    from oomaudit.plugins.memory.meminfo import meminfo

    return meminfo(host)


def memory_for(host, policy: Policy) -> Memory:
    """RAM, huge pages and swap as the kernel counts them: /proc/meminfo live, declared
    facts (and vm.nr_hugepages from the files) otherwise."""
    info = live_meminfo(host)
    if info:
        huge = info.get("Hugetlb", info.get("HugePages_Total", 0) * info.get("Hugepagesize", 0))
        return Memory(Fact(info["MemTotal"], "live: /proc/meminfo MemTotal"),
                      Fact(huge, "live: /proc/meminfo Hugetlb"),
                      Fact(info.get("SwapTotal", 0), "live: /proc/meminfo SwapTotal"),
                      os.sysconf("SC_PAGE_SIZE"))
    ram = host.require("ram")
    swap = host.fact("swap") or Fact(0, "swap not declared: taken as 0 (declare --swap)")
    nr = policy[HUGEPAGES]
    huge = Fact(nr.value * HUGE_PAGE, f"vm.nr_hugepages = {nr.value} x 2 MiB ({nr.where})")
    return Memory(ram, huge, swap)

