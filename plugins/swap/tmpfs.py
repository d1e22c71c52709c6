"""tmpfs mounts in fstab: what they may hold is RAM (or swap), so each goes into the memory
ledger. ``size=`` is read as the kernel's shmem_parse_one reads it (memparse: a number in
any C base, one K/M/G/T/P/E suffix, or ``%`` of RAM; rounded up to whole pages; the last
one wins; ``size=0`` is no limit), ``nr_blocks=`` in pages. Without either, the kernel
lets a tmpfs grow to half of RAM: that is said in the ledger, and not counted, since most
hosts have such a /tmp or /dev/shm and it rarely fills."""
from __future__ import annotations

import re

from oomaudit.parsers.fstab import FstabEntry
from oomaudit.units import format_size

PAGE = 4096
_MEMPARSE = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE%]?)")
_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


def _pages(key: str, text: str, ram: int | None) -> int | None:
    """memparse as shmem_parse_one calls it: whole pages (-1 when a share of an unknown RAM);
    None when the kernel rejects the value."""
    m = _MEMPARSE.fullmatch(text)
    if m is None or (key == "nr_blocks" and m.group(2) == "%"):
        return None
    digits, suffix = m.group(1), m.group(2).lower()
    number = int(digits, 16 if digits[:2].lower() == "0x" else 8 if digits[0] == "0" else 10)
    if key == "nr_blocks":
        return number << _SHIFT.get(suffix, 0)
    if suffix == "%":
        return -1 if ram is None else -(-(number * PAGE * (ram // PAGE) // 100) // PAGE)
    return -(-(number << _SHIFT.get(suffix, 0)) // PAGE)


def limit(entry: FstabEntry, ram: int | None) -> tuple[int | None, str]:
    """(bytes the mount may hold, how): None when unbounded, unknown (a share of RAM not
    declared) or rejected (mount fails: nothing is mounted). Every size=/nr_blocks= is
    parsed in turn, the last one sets the size."""
    last = None
    for item in entry.option_list:
        key, eq, text = item.partition("=")
        if key not in ("size", "nr_blocks"):
            continue
        pages = _pages(key, text, ram) if eq else None
        if pages is None:
            return None, f"{item}: mount refuses it (bad value), nothing is mounted"
        last = (item, pages)
    if last is None:
        half = f" ({format_size(ram // 2)})" if ram else ""
        return None, f"no size=: may grow to half of RAM{half}, the kernel's default; " \
                     "not counted"
    item, pages = last
    if pages < 0:
        return None, f"{item} of RAM (RAM unknown: declare it to count it)"
    if pages == 0:
        return None, f"{item}: no limit at all"
    return pages * PAGE, item + (" pages" if item.startswith("nr_blocks") else "")


def add_to_ledger(host, documents) -> None:
    """Each tmpfs mounted at boot (not ``noauto``) of each fstab, as ``tmpfs TARGET``."""
    ram = host.fact("ram")
    for doc in documents:
        for entry in doc.fstab.entries:
            if entry.fstype != "tmpfs" or entry.noauto:
                continue
            nbytes, how = limit(entry, ram.value if ram else None)
            host.ledger.add(f"tmpfs {entry.target}", nbytes or 0, how,
                            f"{doc.source.display}:{entry.line}", "swap")
