"""Digits of any length read as the C programs we emulate read them: saturated.

Python's ``int(text)`` refuses more than 4300 digits (a ValueError that no reader expects,
raised from deep inside a rule), and would be slow on millions. The programs whose
settings we read parse into 64-bit integers, so every value past 2^128 behaves alike for
them (strtol saturates, strtoul reports ERANGE, atoi wraps a saturated long): ``digits``
returns ``HUGE`` for any such run of digits, and the caller's own range check then says
"out of range" as the program would.
"""
from __future__ import annotations

HUGE = 1 << 200  # above every range a config value has; still an exact int to compare
# significant digits above which a value is past 2^128 in each base
_ENOUGH = {2: 129, 8: 43, 10: 39, 16: 33}


def digits(text: str, base: int = 10) -> int:
    """``int(text, base)`` for a run of digits (a sign is the caller's), or ``HUGE`` when
    it is too long to matter."""
    significant = text.lstrip("0")
    if len(significant) > _ENOUGH.get(base, 39):
        return HUGE
    return int(significant or "0", base)
