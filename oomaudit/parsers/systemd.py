"""systemd unit files and drop-ins, read line by line the way systemd 252 reads them.

Measured against ``systemd --test --system`` and ``systemd-analyze verify``
(tests/systemd/test_systemd_oracle.py keeps us honest):

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

The values of the settings oomaudit audits are read as systemd's own parsers read them
(:mod:`oomaudit.parsers.systemd_values`). Messages are systemd's own wording, so a
finding quotes what the journal would say. The module is pure: text in, plain records
out.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..record import Record

WHITESPACE = " \t\n\r"
COMMENTS = "#;"
BOM = "\ufeff"
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


def parse_unit(text: str, unit_type: str | None = "service",
               sections: tuple[str, ...] = ()) -> UnitText:
    """Every assignment systemd would hand to a setting's parser, with its line.
    ``sections``: those of a daemon's own config file in the same syntax (oomd.conf's
    ``OOM``) in place of a unit type's."""
    result = UnitText()
    sections = sections or known_sections(unit_type)
    state = {"section": None, "ignored": False, "bom_seen": False}
    # the pieces of a continued line, joined once it ends: joining at each piece would copy
    # the line so far every time (quadratic in a value continued over many lines)
    continuation: list[str] | None = None
    number = 0
    for number, raw in enumerate(split_lines(text), 1):
        head = raw.lstrip(WHITESPACE)
        if head and head[0] in COMMENTS:
            continue
        line = raw
        if not state["bom_seen"] and line.startswith(BOM):
            line = line[len(BOM):]
            state["bom_seen"] = True
        # a continuation ends in " ", so the joined line's trailing backslashes are this one's
        if _odd_backslashes(line):
            continuation = [] if continuation is None else continuation
            continuation.append(line[:-1] + " ")
            continue
        joined = line if continuation is None else "".join(continuation) + line
        continuation = None
        if not _parse_line(joined, number, sections, state, result):
            return result
    if continuation is not None:
        _parse_line("".join(continuation), number + 1, sections, state, result)
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


def looks_like_unit(head: str) -> bool:
    """True when the first KiBs read as a unit file or drop-in: the first line that is
    not blank or a comment is a ``[Unit]``, ``[Service]`` or ``[Install]`` header (a template
    is refused before it is asked: oomaudit/recognise.py)."""
    for line in split_lines(head.lstrip(BOM)):
        stripped = line.strip(WHITESPACE)
        if not stripped or stripped[0] in COMMENTS:
            continue
        return stripped in ("[Unit]", "[Service]", "[Install]")
    return False
