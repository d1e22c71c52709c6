"""Values of the settings oomaudit audits in systemd units, read by systemd 252's parsers.

Measured against ``systemd --test --system`` (tests/systemd/test_systemd_oracle.py):
``OOMScoreAdjust`` is a C integer in any base (``010`` is 8, ``0x10`` 16) within
-1000..1000; memory limits take case-sensitive suffixes ``K M G T P E`` (1024-based, ``B``
for bytes), fractions and sums (``1G 512M``), ``infinity``, and a percentage of physical
RAM (``80%``, ``12.34%``, ``5‰``, ``1‱``) rounded down to whole pages.

A value systemd refuses is a ValueError carrying systemd's own warning, so a finding
quotes what the journal would say. The line syntax around the values is
:mod:`oomaudit.parsers.systemd`.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .systemd import WHITESPACE

INFINITY = (1 << 64) - 1  # CGROUP_LIMIT_MAX, as systemd prints it
PAGE_SIZE = 4096

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def _safe_atoi(text: str) -> int:
    """systemd's safe_atoi: blanks, then ``0b``/``0o`` prefixes (no sign after them), then C
    ``strtol(s, &end, 0)`` (``0x`` hex, leading ``0`` octal) that must use the whole string.
    Raises ValueError("Invalid argument") or OverflowError outside a C int."""
    s = text.lstrip(WHITESPACE)
    base = 0
    if s[:2] in ("0b", "0B", "0o", "0O"):
        base = 2 if s[1] in "bB" else 8
        s = s[2:]
        if s[:1] in ("+", "-"):
            raise ValueError("Invalid argument")
    value, used = _strtol(s, base)
    if not _LONG_MIN <= value <= _LONG_MAX:  # errno is checked before the trailing text
        raise OverflowError("Numerical result out of range")
    if used == 0 or used != len(s):
        raise ValueError("Invalid argument")
    if not _INT_MIN <= value <= _INT_MAX:
        raise OverflowError("Numerical result out of range")
    return value


_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _strtol(s: str, base: int) -> tuple[int, int]:
    """C strtol: (value, characters consumed; 0 when nothing was converted)."""
    i = len(s) - len(s.lstrip(" \t\n\v\f\r"))
    negative = s[i:i + 1] == "-"
    if s[i:i + 1] in ("+", "-"):
        i += 1
    if base in (0, 16) and s[i:i + 2] in ("0x", "0X") and s[i + 2:i + 3] and \
            s[i + 2] in _DIGITS[16]:
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if s[i:i + 1] == "0" else 10
    start = i
    while i < len(s) and s[i] in _DIGITS[base]:
        i += 1
    if i == start:
        return 0, 0
    value = int(s[start:i], base)
    return (-value if negative else value), i


def parse_oom_score_adjust(value: str) -> int:
    """The value systemd uses, or ValueError carrying systemd's warning (it then ignores the
    line and keeps the previous value)."""
    try:
        number = _safe_atoi(value)
    except OverflowError:
        raise ValueError(f"OOM score adjust value out of range, ignoring: {value}") from None
    except ValueError:
        raise ValueError(f"Failed to parse the OOM score adjust value '{value}', ignoring: "
                         "Invalid argument") from None
    if not -1000 <= number <= 1000:
        raise ValueError(f"OOM score adjust value out of range, ignoring: {value}")
    return number


class MemoryLimit(NamedTuple):
    """A memory setting as systemd stores it: bytes, or a share of physical RAM in
    permyriad (1/10000) that becomes bytes only on the machine that loads the unit."""

    nbytes: int | None = None
    permyriad: int | None = None
    text: str = ""

    @property
    def infinite(self) -> bool:
        return self.nbytes == INFINITY

    def resolve(self, ram: int | None) -> int | None:
        """Bytes on a host with ``ram`` bytes (None: a percentage with RAM unknown)."""
        if self.permyriad is None:
            return self.nbytes
        if ram is None:
            return None
        return _scale(self.permyriad, ram)


def _scale(permyriad: int, ram: int) -> int:
    """systemd's physical_memory_scale: whole pages, rounded down."""
    if permyriad == 0:
        return 0
    if permyriad == 10000:
        return ram
    return ram // PAGE_SIZE * permyriad // 10000 * PAGE_SIZE


_IEC = (("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20),
        ("K", 1 << 10), ("B", 1), ("", 1))
_ULL_MAX = (1 << 64) - 1


def parse_iec_size(text: str) -> int:
    """systemd's parse_size(t, 1024): one or more ``<number>[.<digits>]<suffix>`` parts with
    strictly decreasing suffixes, summed. Raises ValueError/OverflowError like errno."""
    total, start, p = 0, 0, text
    while True:
        p = p.lstrip(WHITESPACE)
        m = re.match(r"[ \t\n\v\f\r]*([+-]?)(\d+)", p)
        if not m:
            raise ValueError("Invalid argument")
        if p.startswith("-"):
            raise OverflowError("Numerical result out of range")
        whole = int(m.group(2))
        if whole > _ULL_MAX:
            raise OverflowError("Numerical result out of range")
        if m.group(1) == "-":  # strtoull negates; systemd only refuses a leading '-'
            whole = (-whole) & _ULL_MAX
        rest = p[m.end():]
        frac = 0.0
        if rest.startswith("."):
            rest = rest[1:]
            digits = re.match(r"\d+", rest)
            if digits:
                if int(digits.group()) > _ULL_MAX:
                    raise OverflowError("Numerical result out of range")
                frac = float(int(digits.group()))
                for _ in digits.group():
                    frac /= 10
                rest = rest[digits.end():]
        rest = rest.lstrip(WHITESPACE)
        index = next((i for i in range(start, len(_IEC)) if rest.startswith(_IEC[i][0])), None)
        if index is None:
            raise ValueError("Invalid argument")
        suffix, factor = _IEC[index]
        if whole + (frac > 0) > _ULL_MAX // factor:
            raise OverflowError("Numerical result out of range")
        part = whole * factor + int(frac * factor)
        if part > _ULL_MAX - total:
            raise OverflowError("Numerical result out of range")
        total += part
        p = rest[len(suffix):]
        start = index + 1
        if not p:
            return total


_PLACES = {"‱": 0, "‰": 1, "%": 2}  # digits allowed after the dot


def _permyriad(text: str) -> int:
    """systemd's parse_permyriad: ``N%``/``N.N%``/``N.NN%``, ``N‰``/``N.N‰``, ``N‱``."""
    symbol = next((s for s in _PLACES if text.endswith(s)), None)
    if symbol is None:
        raise ValueError("no percent sign")
    body, places = text[:-len(symbol)], _PLACES[symbol]
    whole, dot, tail = body.partition(".")
    if dot:
        if not 1 <= len(tail) <= places or not re.fullmatch(r"[0-9]+", tail):
            raise ValueError("bad fraction")
        fraction = int(tail.ljust(places, "0"))
    else:
        fraction = 0
    number = _safe_atoi(whole)
    if number < 0:
        raise ValueError("negative")
    if number > (_INT_MAX - fraction) // 10 ** places:
        raise ValueError("too large")
    value = number * 10 ** places + fraction
    if value > 10000:
        raise ValueError("above 100%")
    return value


_MAY_BE_ZERO = ("MemorySwapMax", "MemoryLow", "MemoryMin")


def parse_memory_limit(key: str, value: str) -> MemoryLimit:
    """The limit systemd stores for ``key=value`` (empty means the reset value), or
    ValueError carrying systemd's warning."""
    if value == "":
        return MemoryLimit(0 if key in ("MemoryLow", "MemoryMin") else INFINITY, text=value)
    if value == "infinity":
        return MemoryLimit(INFINITY, text=value)
    try:
        permyriad = _permyriad(value)
    except (ValueError, OverflowError):
        permyriad = None
    if permyriad is None:
        try:
            nbytes = parse_iec_size(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"Invalid memory limit '{value}', ignoring: {exc}") from None
        limit = MemoryLimit(nbytes, text=value)
    else:
        limit = MemoryLimit(permyriad=permyriad, text=value)
    if limit.nbytes is not None and (limit.nbytes >= _ULL_MAX or
                                     (limit.nbytes == 0 and key not in _MAY_BE_ZERO)):
        raise ValueError(f"Memory limit '{value}' out of range, ignoring.")
    if permyriad == 0 and key not in _MAY_BE_ZERO:
        raise ValueError(f"Memory limit '{value}' out of range, ignoring.")
    return limit


MEMORY_LIMIT_DEPRECATED = ("Unit uses MemoryLimit=; please use MemoryMax= instead. "
                           "Support for MemoryLimit= will be removed soon.")
