"""The swap areas active now, from /proc/swaps: a live host's fact ``swaps``."""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.host import Fact
from oomaudit.parsers.fstab import unescape
from oomaudit.procfs import read_live
from oomaudit.units import format_size

from .constants import PROC_SWAPS


class ActiveSwap(NamedTuple):
    """One line of /proc/swaps (sizes in bytes)."""

    filename: str
    type: str
    size: int
    used: int
    priority: int

    def describe(self) -> str:
        return (f"{self.filename} ({self.type}, {format_size(self.size)}, "
                f"{format_size(self.used)} used, priority {self.priority})")


def parse_proc_swaps(text: str) -> list[ActiveSwap]:
    """/proc/swaps: a header, then ``Filename Type Size(KiB) Used(KiB) Priority``; the
    kernel escapes blanks in file names as ``\\040``."""
    swaps = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        *name, kind, size, used, prio = fields
        try:
            numbers = int(size) * 1024, int(used) * 1024, int(prio)
        except ValueError:
            continue
        filename = unescape(" ".join(name))
        if filename.endswith(" (deleted)"):
            filename = filename[:-len(" (deleted)")]
        swaps.append(ActiveSwap(filename, kind, *numbers))
    return swaps


def collect(host):
    try:
        text = read_live(PROC_SWAPS)
    except OSError as exc:
        host.note_unreadable(PROC_SWAPS, f"{exc.strerror or exc}; active swap not checked")
        return
    host.facts["swaps"] = Fact(parse_proc_swaps(text), f"live: {PROC_SWAPS}")
