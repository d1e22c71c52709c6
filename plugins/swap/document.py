"""The ``fstab`` reader's parse(): the file's table, and CONF001 for the lines mount and
swapon reject."""
from __future__ import annotations

from typing import NamedTuple

from oomaudit import Evidence, Source
from oomaudit.parsers.fstab import Fstab, parse_fstab


class FstabDocument(NamedTuple):
    """What the ``fstab`` reader's parse() gives: the file and its table; lines that
    mount and swapon reject are already CONF001 problems of ``source``."""

    source: Source
    fstab: Fstab


def parse(source: Source) -> FstabDocument:
    fstab = parse_fstab(source.text)
    for error in fstab.errors:
        source.problem("CONF001", error.line,
                       f"fstab line {error.line} rejected by mount/swapon: {error.reason}; "
                       "libmount skips this line",
                       fix="write: SOURCE TARGET FSTYPE [OPTIONS [DUMP [PASS]]], e.g. "
                           "'/swapfile none swap sw 0 0'",
                       evidence=[Evidence(repr(error.text), f"{source.display}:{error.line}")],
                       key=(error.text.split() or [""])[0])  # the entry's device or file
    return FstabDocument(source, fstab)
