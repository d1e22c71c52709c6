"""PostgreSQL parameter values as the server's guc.c evaluates them (PostgreSQL 15).

Measured against ``postgres -C NAME`` from Debian's postgresql-15
(tests/postgresql/test_pg_oracle.py):

* An integer is read by C ``strtol(value, base 0)``: leading blanks, a sign, ``0x1F`` hex and
  ``010`` *octal* (8). When it stops at ``.``, ``e`` or ``E`` or overflows it is read again by
  ``strtod`` (``1.5``, ``1e3``, ``0x1.8p1``).
* Blanks may separate the number from its unit; the unit is at most 3 characters,
  case-sensitive ``B kB MB GB TB`` (``64mb`` and ``8KB`` are invalid), blanks may follow.
* A fractional value in a unit is first rounded to a whole number of the next smaller unit
  (``1.5GB`` of 8 kB pages is rounded to whole MB), then to the base unit with C ``rint``:
  half to even, so ``100kB`` of pages (12.5) is 12.
* Values outside the parameter's range are refused; check hooks clamp some of them
  (``wal_buffers`` 0..3 becomes 4, ``autovacuum_work_mem`` 0..1023 becomes 1024) and
  refuse backend counts whose sum exceeds 262143.
* ``-1`` keeps its "derive" meaning: wal_buffers becomes shared_buffers/32 (8 pages to one
  16 MB WAL segment), autovacuum_work_mem falls back to maintenance_work_mem.

The table lists the parameters the memory rules use; other names keep their text.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple

from ..cnumbers import digits as c_digits

INT_MAX = (1 << 31) - 1
MAX_BACKENDS = 262143
_C_SPACE = " \t\n\v\f\r"
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_MEMORY_HINT = 'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".'
_UNITS = (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10), ("B", 1))


class Param(NamedTuple):
    """One parameter: its type, the bytes in one base unit (0: no unit), range and
    PostgreSQL 15's built-in default (what the server uses when no file sets it)."""

    kind: str  # "int" or "real"
    unit: int
    min: float
    max: float
    default: float
    unit_name: str = ""

    def display(self, value: float) -> str:
        return f"{value:g}" if self.kind == "real" else str(int(value))


def _mem(unit: int, low: int, high: int, default: int) -> Param:
    return Param("int", unit, low, high, default, "8kB" if unit == 8192 else "kB")


def _count(low: int, high: int, default: int) -> Param:
    return Param("int", 0, low, high, default)


PAGE, KB = 8192, 1024
PARAMS: dict[str, Param] = {
    "shared_buffers": _mem(PAGE, 16, INT_MAX // 2, 16384),
    "wal_buffers": _mem(PAGE, -1, MAX_BACKENDS, -1),
    "temp_buffers": _mem(PAGE, 100, INT_MAX // 2, 1024),
    "effective_cache_size": _mem(PAGE, 1, INT_MAX, 524288),
    "work_mem": _mem(KB, 64, INT_MAX, 4096),
    "maintenance_work_mem": _mem(KB, 1024, INT_MAX, 65536),
    "autovacuum_work_mem": _mem(KB, -1, INT_MAX, -1),
    "logical_decoding_work_mem": _mem(KB, 64, INT_MAX, 65536),
    "hash_mem_multiplier": Param("real", 0, 1.0, 1000.0, 2.0),
    "max_connections": _count(1, MAX_BACKENDS, 100),
    "superuser_reserved_connections": _count(0, MAX_BACKENDS, 3),
    "autovacuum_max_workers": _count(1, MAX_BACKENDS, 3),
    "max_worker_processes": _count(0, MAX_BACKENDS, 8),
    "max_wal_senders": _count(0, MAX_BACKENDS, 10),
    "max_parallel_workers": _count(0, 1024, 8),
    "max_parallel_workers_per_gather": _count(0, 1024, 2),
    "max_parallel_maintenance_workers": _count(0, 1024, 2),
    "max_prepared_transactions": _count(0, MAX_BACKENDS, 0),
    "max_locks_per_transaction": _count(10, INT_MAX, 64),
}
# guc.c's map_old_guc_names: the 7.x names still set the new parameters.
OLD_NAMES = {"sort_mem": "work_mem", "vacuum_mem": "maintenance_work_mem"}
# The four counts whose sum (plus one) check_maxconnections & co. keep below MAX_BACKENDS.
BACKEND_COUNTS = ("max_connections", "autovacuum_max_workers", "max_worker_processes",
                  "max_wal_senders")


CHECKED_VERSION = 15  # the version whose parameter list ships with us (pg15_parameters.txt)


def known_name(name: str) -> bool:
    """find_option's verdict for PostgreSQL 15: a parameter it knows (old aliases included)
    or a valid custom placeholder (``ext.name``); anything else makes the server refuse
    the file with 'unrecognized configuration parameter'."""
    lowered = name.lower()
    return (lowered in _parameter_names() or lowered in OLD_NAMES
            or _valid_custom_name(name))


def _parameter_names() -> frozenset[str]:
    global _NAMES
    if _NAMES is None:
        from importlib import resources
        text = resources.files(__package__).joinpath("pg15_parameters.txt").read_text()
        _NAMES = frozenset(line.strip() for line in text.splitlines()
                           if line.strip() and not line.startswith("#"))
    return _NAMES


_NAMES: frozenset[str] | None = None
_IDENT_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


def _valid_custom_name(name: str) -> bool:
    """guc.c valid_custom_variable_name: dot-separated identifiers, at least one dot."""
    parts = name.split(".")
    return len(parts) > 1 and all(
        part and (part[0] in _IDENT_START or ord(part[0]) > 127)
        and all(c in _IDENT_START or c.isascii() and c.isdigit() or c == "$" or ord(c) > 127
                for c in part[1:])
        for part in parts)


def defaults(version: int | None = None) -> dict[str, float]:
    """Built-in defaults; PostgreSQL 13 and 14 shipped hash_mem_multiplier 1.0."""
    values = {name: p.default for name, p in PARAMS.items()}
    if version is not None and version < 15:
        values["hash_mem_multiplier"] = 1.0
    return values


class InvalidValue(ValueError):
    """The server's own error text (errmsg, and errhint when it gives one)."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint

    def __str__(self) -> str:
        return f"{self.message} (HINT: {self.hint})" if self.hint else self.message


def c_strtol(text: str) -> tuple[int | None, int, bool]:
    """C ``strtol(text, &end, 0)``: (value or None when no digits, end index, ERANGE)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))",
                 text)
    if not m:
        return None, 0, False
    hexa, octal, decimal = m.group(2), m.group(3), m.group(4)
    value = c_digits(hexa, 16) if hexa else c_digits(octal, 8) if octal else c_digits(decimal)
    if m.group(1) == "-":
        value = -value
    overflow = not _LONG_MIN <= value <= _LONG_MAX
    return max(_LONG_MIN, min(_LONG_MAX, value)), m.end(), overflow


_STRTOD = re.compile(
    r"[ \t\n\v\f\r]*[+-]?(?:"
    r"(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    r"|(?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<inf>[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    r"|(?P<nan>[nN][aA][nN](?:\([0-9A-Za-z_]*\))?))")


def c_strtod(text: str) -> tuple[float | None, int, bool]:
    """C ``strtod``: (value or None when nothing parses, end index, ERANGE)."""
    m = _STRTOD.match(text)
    if not m:
        return None, 0, False
    negative = m.group(0).lstrip(_C_SPACE).startswith("-")
    if m.group("inf"):
        return (-math.inf if negative else math.inf), m.end(), False
    if m.group("nan"):
        return math.nan, m.end(), False
    if m.group("hex"):
        number = m.group("hex")
        mantissa = re.split("[pP]", number[2:])[0]
        try:
            value = float.fromhex(number if "p" in number.lower() else number + "p0")
        except OverflowError:
            value = math.inf
    else:
        number = m.group("dec")
        mantissa = re.split("[eE]", number)[0]
        value = float(number)
    underflow = value == 0 and mantissa.strip("0.") != ""
    erange = math.isinf(value) or underflow or 0 < value < 2.2250738585072014e-308
    return (-value if negative else value), m.end(), erange


def _convert_unit(value: float, rest: str, param: Param) -> float | None:
    """guc.c's convert_to_base_unit: None for an unknown unit or trailing garbage."""
    unit = re.match(r"[^ \t\n\v\f\r]{0,3}", rest).group()
    if rest[len(unit):].strip(_C_SPACE):
        return None
    for index, (name, nbytes) in enumerate(_UNITS):
        if unit == name:
            result = value * (nbytes / param.unit)
            # a fraction is rounded to a whole number of the next smaller unit first
            if index + 1 < len(_UNITS) and not math.isinf(result):
                smaller = _UNITS[index + 1][1] / param.unit
                result = round(result / smaller) * smaller
            return result
    return None


def parse_int(text: str, param: Param) -> int:
    """guc.c's parse_int: the integer in base units, or InvalidValue with the hint."""
    number: float | None
    number, end, overflow = c_strtol(text)
    if text[end:end + 1] in (".", "e", "E") and end < len(text) or overflow:
        number, end, overflow = c_strtod(text)
    if number is None or overflow or math.isnan(number):
        raise InvalidValue("")
    rest = text[end:].lstrip(_C_SPACE)
    if rest:
        if not param.unit:
            raise InvalidValue("")
        number = _convert_unit(number, rest, param)
        if number is None:
            raise InvalidValue("", _MEMORY_HINT)
    if math.isinf(number):
        raise InvalidValue("", "Value exceeds integer range.")
    result = round(number)  # C rint: half to even, as Python's round
    if not -INT_MAX - 1 <= result <= INT_MAX:
        raise InvalidValue("", "Value exceeds integer range.")
    return result


def parse_real(text: str, param: Param) -> float:
    value, end, overflow = c_strtod(text)
    if value is None or overflow or math.isnan(value) or text[end:].strip(_C_SPACE):
        raise InvalidValue("")
    return value


def evaluate(name: str, text: str, current: dict[str, float], spelled: str = "") -> float:
    """The value the server stores for ``name = text`` (``current``: the values already
    set, which check hooks consult). Raises InvalidValue with the server's message, which
    names the parameter as the file ``spelled`` it."""
    param = PARAMS[name]
    spelled = spelled or name
    try:
        value = parse_int(text, param) if param.kind == "int" else parse_real(text, param)
    except InvalidValue as exc:
        raise InvalidValue(f'invalid value for parameter "{spelled}": "{text}"',
                           exc.hint) from None
    if not param.min <= value <= param.max:
        unit = f" {param.unit_name}" if param.unit_name else ""
        shown = param.display(value) if param.kind == "int" else f"{value:g}"
        bounds = f"{param.display(param.min)} .. {param.display(param.max)}"
        raise InvalidValue(f'{shown}{unit} is outside the valid range for parameter "{spelled}" '
                           f"({bounds})")
    if name == "wal_buffers" and 0 <= value < 4:
        value = 4
    elif name == "autovacuum_work_mem" and 0 <= value < 1024:
        value = 1024
    elif name in BACKEND_COUNTS:
        others = sum(current[n] for n in BACKEND_COUNTS if n != name)
        if value + others + 1 > MAX_BACKENDS:
            raise InvalidValue(f'invalid value for parameter "{spelled}": {int(value)}')
    return value


def wal_buffers_pages(wal_buffers: float, shared_buffers: float,
                      segment_bytes: int = 16 << 20) -> int:
    """XLOGChooseNumBuffers for ``-1``: shared_buffers/32, at least 8 pages, at most one WAL
    segment (16 MB: 2048 pages)."""
    if wal_buffers != -1:
        return int(wal_buffers)
    return max(8, min(int(shared_buffers) // 32, segment_bytes // PAGE))
