"""Redis's syntax for arguments and values, as redis-server 7.0 reads them: a line split
into arguments (sds.c ``sdssplitargs``), sizes with Redis's units (util.c ``memtoull``),
plain integers (``string2ll``), the ``save`` pairs (config.c ``setConfigSaveOption``), and
names compared as C compares them (ASCII case only).

The C behaviour is kept where it shows: ``memtoull`` clamps the digits at 2^64 - 1 and
lets the product wrap, reads no digits at all as 0 (``maxmemory kb`` is 0 bytes), and
``save``'s change count is a C int.
"""
from __future__ import annotations

from ..cnumbers import digits as c_digits

# C's isspace() in the C locale, and the blanks that end an unquoted argument (sds.c)
_SPACE = frozenset(" \t\n\v\f\r")
_ENDS = frozenset(" \n\r\t")
_HEX = "0123456789abcdefABCDEF"
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2,
                "g": 1000 ** 3, "gb": 1024 ** 3}
_ULL = 1 << 64  # unsigned long long: memtoull's product wraps as in C
POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
            "allkeys-lfu", "allkeys-random", "noeviction")
INT_MAX = (1 << 31) - 1
LLONG_MAX = (1 << 63) - 1


def lower(text: str) -> str:
    """C's tolower() in the C locale: ASCII letters only (strcasecmp compares so)."""
    return text.translate(_LOWER)


def split_args(line: str) -> list[str] | None:
    """``sdssplitargs``: the arguments of one line, or None for unbalanced quotes. Blanks
    separate them; ``"..."`` takes C escapes (``\\n``, ``\\x41``), ``'...'`` only ``\\'``;
    a quote may start inside an argument but a closing one must be followed by a blank
    (or the end); outside quotes only space, tab, CR and LF end an argument (a \\v in one
    is part of it)."""
    args: list[str] = []
    i, end = 0, len(line)
    while True:
        while i < end and line[i] in _SPACE:
            i += 1
        if i >= end:
            return args
        current: list[str] = []
        quote = ""
        while True:
            c = line[i] if i < end else ""
            if quote == '"':
                if c == "\\" and line[i + 1:i + 2] == "x" and _hex(line[i + 2:i + 4]):
                    current.append(chr(int(line[i + 2:i + 4], 16)))
                    i += 3
                elif c == "\\" and i + 1 < end:
                    i += 1
                    current.append(_ESCAPES.get(line[i], line[i]))
                elif c == '"':
                    if i + 1 < end and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    current.append(c)
            elif quote == "'":
                if c == "\\" and line[i + 1:i + 2] == "'":
                    i += 1
                    current.append("'")
                elif c == "'":
                    if i + 1 < end and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                elif not c:
                    return None
                else:
                    current.append(c)
            elif not c or c in _ENDS:
                i += 1
                break
            elif c in "\"'":
                quote = c
            else:
                current.append(c)
            i += 1
        args.append("".join(current))


def _hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in _HEX for c in pair)


def memory(text: str) -> int | None:
    """``memtoull``: bytes for a memory value, or None where Redis refuses it: ``1k`` is
    1000 bytes, ``1kb`` 1024 (``m``/``mb``, ``g``/``gb`` alike), in any case. Digits are
    read by strtoull (clamped at 2^64 - 1) and the product wraps at 2^64, as in C; no
    digits at all reads as 0 (``kb`` is 0 bytes)."""
    if text.startswith("-"):
        return None
    digits = 0
    while digits < len(text) and "0" <= text[digits] <= "9":
        digits += 1
    unit = lower(text[digits:])
    if unit not in MEMORY_UNITS or digits >= 128:
        return None
    value = min(c_digits(text[:digits]), _ULL - 1)
    return value * MEMORY_UNITS[unit] % _ULL


def integer(text: str) -> int | None:
    """``string2ll``: a plain decimal, no sign but ``-``, no leading zero, no blank."""
    body = text[1:] if text.startswith("-") else text
    if text == "0":
        return 0
    if not body or len(text) >= 21 or not body.isascii() or not body.isdigit() \
            or body[0] == "0":
        return None
    value = -int(body) if text.startswith("-") else int(body)
    return value if -LLONG_MAX - 1 <= value <= LLONG_MAX else None


def _strtoll(text: str) -> int | None:
    """C's strtoll(text, &end, 10) with ``*end == '\\0'`` required: blanks, then a sign,
    then digits (none reads as 0 only for the empty string), clamped to long long."""
    i = 0
    while i < len(text) and text[i] in _SPACE:
        i += 1
    body = text[i:]
    if body == "" and i == 0:
        return 0
    sign = -1 if body[:1] == "-" else 1
    digits = body[1:] if body[:1] in "+-" and body else body
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    return max(-LLONG_MAX - 1, min(LLONG_MAX, sign * c_digits(digits)))


def save_params(args: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """``setConfigSaveOption``'s check: pairs of seconds >= 1 and changes >= 0, or None
    ("Invalid save parameters"). ``changes`` is a C int: it wraps as Redis stores it."""
    if len(args) % 2:
        return None
    numbers = [_strtoll(a) for a in args]
    if any(n is None for n in numbers):
        return None
    pairs = list(zip(numbers[::2], numbers[1::2], strict=True))
    if any(seconds < 1 or changes < 0 for seconds, changes in pairs):
        return None
    return [(seconds, (changes + (1 << 31)) % (1 << 32) - (1 << 31))
            for seconds, changes in pairs]


def save_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """A multi-argument setting given one non-empty argument is split again (``save
    "900 1"``); an argument that does not split (unbalanced quotes) gives none."""
    if len(args) == 1 and args[0]:
        return tuple(split_args(args[0]) or ())
    return args
