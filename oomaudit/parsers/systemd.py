"""systemd unit files and drop-ins, read line by line the way systemd 252 reads them.

Measured against ``systemd --test --system`` and ``systemd-analyze verify``
(tests/test_systemd_oracle.py keeps us honest):

* Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``. A byte-order mark is dropped from the
  start of a line (the first one only).
* A line whose first non-blank character is ``#`` or ``;`` is a comment, checked on the
  raw line before the BOM is dropped, and also *inside* a ``\\`` continuation (the
  continuation goes on past it). There are no inline comments: ``MemoryMax=1G # cap``
  has the value ``1G # cap``, which systemd rejects.
* A line ending in an odd number of backslashes continues on the next line; the
  backslash becomes a space. A continuation still open at the end of the file is
  parsed as the line after the last one.
* ``[Name]``: a section. A header not ending in ``]`` or holding control characters,
  quotes or backslashes is an error that stops systemd loading the unit at all
  (load state ``error``). Unknown sections are ignored with a warning, ``X-`` ones
  silently; assignments in them and before any section are ignored.
* ``Key=value``: both sides stripped of space, tab, CR and LF; keys are case-sensitive.
  An empty value resets the setting (``MemoryHigh=`` is back to infinity,
  ``OOMScoreAdjust=`` back to inherited).
* Values of the settings oomaudit audits follow systemd's parsers: ``OOMScoreAdjust``
  is a C integer in any base (``010`` is 8, ``0x10`` 16) within -1000..1000; memory
  limits take case-sensitive suffixes ``K M G T P E`` (1024-based, ``B`` for bytes),
  fractions and sums (``1G 512M``), ``infinity``, and a percentage of physical RAM
  (``80%``, ``12.34%``, ``5‰``, ``1‱``) rounded down to whole pages.

Messages are systemd's own wording, so a finding quotes what the journal would say.
The module is pure: text in, plain records out.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..record import Record

WHITESPACE = " \t\n\r"
COMMENTS = "#;"
BOM = "\ufeff"
INFINITY = (1 << 64) - 1  # CGROUP_LIMIT_MAX, as systemd prints it
PAGE_SIZE = 4096
MEMORY_KEYS = ("MemoryMax", "MemoryHigh", "MemoryLimit", "MemorySwapMax", "MemoryLow",
               "MemoryMin")
AUDITED_KEYS = ("OOMScoreAdjust", *MEMORY_KEYS)
# The section that holds exec and cgroup settings, per unit type.
TYPE_SECTIONS = {"service": "Service", "socket": "Socket", "mount": "Mount", "swap": "Swap",
                 "slice": "Slice", "scope": "Scope"}
UNIT_TYPES = ("service", "socket", "target", "device", "mount", "automount", "swap", "timer",
              "path", "slice", "scope")


class Assignment(NamedTuple):
    """One ``Key=value`` of a section, both sides stripped (an empty value is a reset);
    ``line`` is where a continued line ends."""

    section: str
    key: str
    value: str
    line: int


class UnitText(Record):
    """One parsed file. ``problems`` are (line, systemd's message); ``fatal`` is set when
    systemd refuses the whole unit because of this file (bad section header)."""

    def __init__(self, assignments: list[Assignment] | None = None,
                 problems: list[tuple[int, str]] | None = None,
                 fatal: tuple[int, str] | None = None):
        self.assignments = [] if assignments is None else assignments
        self.problems = [] if problems is None else problems
        self.fatal = fatal

    __eq__ = Record.same_content

    def sections(self) -> set[str]:
        return {a.section for a in self.assignments}


def split_lines(text: str) -> list[str]:
    """systemd's read_line: ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def known_sections(unit_type: str | None) -> tuple[str, ...]:
    """Sections systemd accepts in a unit of this type (any type's section when unknown)."""
    if unit_type is None:
        return ("Unit", "Install", *TYPE_SECTIONS.values(), "Timer", "Path", "Automount")
    own = TYPE_SECTIONS.get(unit_type) or unit_type.capitalize()
    return ("Unit", own, "Install") if unit_type != "target" else ("Unit", "Install")


def parse_unit(text: str, unit_type: str | None = "service") -> UnitText:
    """Every assignment systemd would hand to a setting's parser, with its line."""
    result = UnitText()
    sections = known_sections(unit_type)
    state = {"section": None, "ignored": False, "bom_seen": False}
    continuation: str | None = None
    number = 0
    for number, raw in enumerate(split_lines(text), 1):
        head = raw.lstrip(WHITESPACE)
        if head and head[0] in COMMENTS:
            continue
        line = raw
        if not state["bom_seen"] and line.startswith(BOM):
            line = line[len(BOM):]
            state["bom_seen"] = True
        joined = line if continuation is None else continuation + line
        if _odd_backslashes(joined):
            continuation = joined[:-1] + " "
            continue
        continuation = None
        if not _parse_line(joined, number, sections, state, result):
            return result
    if continuation is not None:
        _parse_line(continuation, number + 1, sections, state, result)
    return result


def _odd_backslashes(text: str) -> bool:
    stripped = text.rstrip("\\")
    return (len(text) - len(stripped)) % 2 == 1


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\"']")


def _parse_line(text: str, number: int, sections: tuple[str, ...], state: dict,
                result: UnitText) -> bool:
    """One logical line; False when systemd stops reading the file (the unit fails)."""
    line = text.strip(WHITESPACE)
    if not line:
        return True
    if line[0] == "[":
        if line[-1] != "]":
            result.fatal = (number, f"Invalid section header '{line}'")
            return False
        name = line[1:-1]
        if _UNSAFE.search(name):
            result.fatal = (number, f"Bad characters in section header '{line}'")
            return False
        if name in sections:
            state["section"], state["ignored"] = name, False
        else:
            if not name.startswith("X-"):
                result.problems.append((number, f"Unknown section '{name}'. Ignoring."))
            state["section"], state["ignored"] = None, True
        return True
    if state["section"] is None:
        if not state["ignored"]:
            result.problems.append((number, "Assignment outside of section. Ignoring."))
        return True
    key, eq, value = line.partition("=")
    if not eq:
        result.problems.append((number, "Missing '=', ignoring line."))
        return True
    if not key:
        result.problems.append((number, "Missing key name before '=', ignoring line."))
        return True
    result.assignments.append(Assignment(state["section"], key.strip(WHITESPACE),
                                         value.strip(WHITESPACE), number))
    return True


def misplaced(assignment: Assignment, unit_type: str | None) -> str | None:
    """systemd's warning for an audited setting it will not use: wrong case or wrong section
    (``OOMScoreAdjust=`` under ``[Unit]``). None when the assignment is where it belongs or
    is not one oomaudit audits (we do not know every key systemd has)."""
    key, section = assignment.key, assignment.section
    own = known_sections(unit_type)[1:-1] if unit_type else tuple(TYPE_SECTIONS.values())
    if key in AUDITED_KEYS and section in own:
        return None
    if key in AUDITED_KEYS or key.lower() in _AUDITED_LOWER:
        return f"Unknown key '{key}' in section [{section}], ignoring."
    return None


_AUDITED_LOWER = {k.lower() for k in AUDITED_KEYS}


# --- values --------------------------------------------------------------------------

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


def looks_like_unit(head: str) -> bool:
    """True when the first KiBs read as a unit file or drop-in: the first line that is
    not blank or a comment is a ``[Unit]``, ``[Service]`` or ``[Install]`` header. Jinja/ERB
    templates are not units yet: their ``{% if %}`` lines would read as syntax errors."""
    if any(marker in head for marker in ("{{", "{%", "<%")):
        return False
    for line in split_lines(head.lstrip(BOM)):
        stripped = line.strip(WHITESPACE)
        if not stripped or stripped[0] in COMMENTS:
            continue
        return stripped in ("[Unit]", "[Service]", "[Install]")
    return False
