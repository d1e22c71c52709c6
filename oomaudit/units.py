"""Sizes: parse what users type (``8G``, ``8GiB``, ``512M``, bytes) and print IEC units.

Every size inside oomaudit is an int of bytes; this module is the one place that
turns text into bytes and bytes into text, so findings print sizes one way.
"""
from __future__ import annotations

import re

_FACTORS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes for a user-declared size such as ``8G``, ``8GiB``, ``512M``, ``1.5T``, ``4096``.

    Suffixes are binary (1K = 1024), as in ``free``, ``ulimit`` and most daemons'
    configs; ``B``/``iB`` after the letter are accepted and change nothing.
    Raises ValueError with a message fit for the user.
    """
    m = _SIZE.match(str(text))
    if not m or (m.group(3) and not m.group(2) and m.group(3).lower() != "b"):
        raise ValueError(f"invalid size {text!r}: expected a number with an optional "
                         "K/M/G/T suffix, e.g. 8G, 8GiB, 512M or 4096")
    number, unit = m.group(1), m.group(2).upper()
    value = float(number) * _FACTORS[unit]
    if unit == "" and "." in number:
        raise ValueError(f"invalid size {text!r}: a byte count must be a whole number")
    return int(value)


def format_size(n: int | float) -> str:
    """``8589934592`` -> ``8.0 GiB``; negative sizes keep their sign."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1024:
        return f"{sign}{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024
        if n < 1024 or unit == "PiB":
            break
    return f"{sign}{n:.1f} {unit}"
