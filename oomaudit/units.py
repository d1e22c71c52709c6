"""Sizes: parse what users type (``8G``, ``8GiB``, ``512M``, bytes) and print IEC units.

Every size inside oomaudit is an int of bytes; this module is the one place that
turns text into bytes and bytes into text, so findings print sizes one way.
"""
from __future__ import annotations

import re

_FACTORS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50,
            "E": 1 << 60}  # every unit format_size prints can be typed back
# compiled on first use (re caches it): case-insensitive, it cost 0.3 ms of every run
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)(i?B?)?\s*$"
MAX_SIZE = 1 << 64  # no machine has more; larger values are typos, not sizes


def parse_size(text: str) -> int:
    """Bytes for a user-declared size such as ``8G``, ``8GiB``, ``512M``, ``1.5T``, ``4096``.

    Suffixes are binary (1K = 1024), as in ``free``, ``ulimit`` and most daemons'
    configs; ``B``/``iB`` after the letter are accepted and change nothing.
    Raises ValueError with a message fit for the user. The arithmetic is exact (integers,
    not float: ``12345678901234567891`` stays that number and ``9``x400 cannot overflow
    into an OverflowError), and absurd sizes above 16 EiB are refused.
    """
    m = re.match(_SIZE, str(text), re.IGNORECASE | re.ASCII)
    if not m or (m.group(3) and not m.group(2) and m.group(3).lower() != "b"):
        raise ValueError(f"invalid size {text!r}: expected a number with an optional "
                         "K/M/G/T suffix, e.g. 8G, 8GiB, 512M or 4096")
    number, unit = m.group(1), m.group(2).upper()
    if unit == "" and "." in number:
        raise ValueError(f"invalid size {text!r}: a byte count must be a whole number")
    whole, _, fraction = number.partition(".")
    if len(whole.lstrip("0")) > 20:  # above 10**20 > 16 EiB, whatever the unit
        raise ValueError(f"invalid size {text!r}: larger than 16 EiB")
    if len(fraction) > 30:  # no size needs it, and it keeps the integers small
        raise ValueError(f"invalid size {text!r}: more than 30 decimal places")
    value = int(whole + fraction) * _FACTORS[unit] // 10 ** len(fraction)
    if value > MAX_SIZE:
        raise ValueError(f"invalid size {text!r}: larger than 16 EiB")
    return value


def format_size(n: int | float) -> str:
    """``8589934592`` -> ``8.0 GiB``; negative sizes keep their sign.

    A unit is chosen by the *rounded* figure, so 1 MiB - 1 byte prints ``1.0 MiB``,
    never ``1024.0 KiB``.
    """
    sign = "-" if n < 0 else ""
    n = abs(n)
    if n < 1024:
        return f"{sign}{int(n)} B"
    units = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = 1
    while power < len(units) and round(n / 1024 ** power, 1) >= 1024:
        power += 1
    return f"{sign}{n / 1024 ** power:.1f} {units[power - 1]}"
