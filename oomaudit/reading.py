"""Config formats and the files they read: :class:`Reader` and :class:`Source`.

A reader is what a plugin registers for a format; a source is one file's text as
read safely from disk. Reading never raises into a rule: a file that is
missing, unreadable, binary or huge becomes a CONF finding naming it, and the
audit goes on without it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .model import Evidence, Finding, Severity
from .record import Record
from .refs import Lazy

SNIFF_BYTES = 4096


class Reader(Record):
    """A config format.

    ``system_paths``: globs under the audited root where the format lives on a host
    (``etc/fstab``); ``file_patterns``: globs matched against a file's name (``fstab``,
    ``*.cnf``) or, when they hold a ``/``, its path (``*/mysql/*.cnf``); ``sniff(head)``:
    True when the first 4 KiB look like this format, for files named otherwise;
    ``sniff_hint``: a regex that ``re.search`` (with ``re.M``) must find in the head before
    ``sniff`` is asked (a cheap necessary condition: the hints of all readers are joined
    into one search, so a repository's many files that are no config cost one regex
    each, not one sniffer per format; anchor it at line starts where the format allows);
    ``parse(source)``: the document rules will see, read the way the real program reads it.
    ``expands``: the placeholders the program itself fills in (``"${"``: compose, Apache,
    PHP-FPM, nginx and systemd expand ``${VAR}``), which are then no template's markers
    (``oomaudit/templates.py``); ``("",)`` for data that is never a template (kernel logs).

    ``parse`` and ``sniff`` may be given as ``"module:function"``: the module is then
    imported on first use, so a plugin whose files are absent costs no parser import.
    """

    def __init__(self, name: str, parse: Callable[[Source], Any] | str,
                 system_paths: tuple[str, ...] = (), file_patterns: tuple[str, ...] = (),
                 sniff: Callable[[str], bool] | str | None = None, sniff_hint: str = "",
                 comment_prefixes: tuple[str, ...] = ("#",), expands: tuple[str, ...] = (),
                 plugin: str = ""):
        self.name = name
        self.parse = Lazy(parse) if isinstance(parse, str) else parse
        self.system_paths = system_paths
        self.file_patterns = file_patterns
        self.sniff = Lazy(sniff) if isinstance(sniff, str) else sniff
        self.sniff_hint = sniff_hint
        self.comment_prefixes = comment_prefixes
        self.expands = expands
        self.plugin = plugin  # set by the plugin manager


# compiled on first use (re caches it): only a file that holds "oomaudit:" needs it
_SUPPRESSION = r"oomaudit:\s*(ignore|ignore-file)\[([^\]]*)\]\s*(.*)"


class Suppression(Record):
    """``ignore[...]`` covers its own line; on a line of its own (nothing but the comment)
    it covers the next line instead, so a trailing comment never silences its neighbour."""

    def __init__(self, line: int, ids: tuple[str, ...], whole_file: bool, reason: str,
                 own_line: bool = False):
        self.line = line
        self.ids = ids
        self.whole_file = whole_file
        self.reason = reason
        self.own_line = own_line
        self.used = False  # set when it hides a finding; an unused one is a notice

    def covers(self, rule: str, line: int | None) -> bool:
        if not any(rule == i or rule.startswith(i) for i in self.ids):
            return False
        return self.whole_file or line == (self.line + 1 if self.own_line else self.line)


class Source(Record):
    """One file as read from disk. ``display`` is how findings name it; ``inside`` is the
    path the audited system would use (``/etc/fstab`` under ``--root``)."""

    def __init__(self, path: Path, display: str, text: str, inside: str = "",
                 reader: Reader | None = None):
        self.path = path
        self.display = display
        self.text = text
        self.inside = inside
        self.reader = reader
        self.problems: list[Finding] = []  # CONF findings of reading it (see problem())
        self._problem_keys: set[tuple] = set()  # problem()'s "once": (rule, line, message)
        self._keyed = 0  # how many of self.problems are in _problem_keys
        self._suppressions: list[Suppression] | None = None  # parsed on first ask
        # oomaudit/templates.py: why the file is a template and not read (""), else the
        # lines whose placeholders a template engine fills (line -> the setting) and the
        # findings held back for them
        self.template = ""
        self.templated: dict[int, str] = {}
        self.held: list[str] = []

    @property
    def lines(self) -> list[str]:
        """Lines as config programs count them: split at \n only (str.splitlines would also
        split at \v, \f and \x1c-\x1e and shift every line number after them)."""
        return [line.rstrip("\r") for line in self.text.split("\n")]

    def line_text(self, line: int | None) -> str:
        """Line ``line`` as written, stripped ("" for none or past the end): the fingerprint
        key of a problem that no setting or directive names (a line the program rejects).
        Split up to that line only, in C: a file with many rejected lines asks for each."""
        if not line or line < 1:
            return ""
        lines = self.text.split("\n", line)
        return lines[line - 1].strip() if line <= len(lines) else ""

    def problem(self, rule: str, line: int | None, message: str, fix: str = "",
                evidence: list[Evidence] | None = None, key: str = "",
                severity: Severity | None = None) -> None:
        """Record a CONF finding (CONF001 syntax/value, CONF002 include) at ``line``, once:
        a file that several configurations include is read for each of them. ``key`` is
        what it is about (the setting, the directive, the include): see ``Finding.key``."""
        keys = self._problem_keys  # a set, not a scan of the list: a file may have 100k
        keys.update((p.rule, p.line, p.message) for p in self.problems[self._keyed:])
        if (rule, line, message) not in keys:
            keys.add((rule, line, message))
            self.problems.append(Finding(rule, message, self.display, line, evidence or [], fix,
                                         severity=severity, key=key))
        self._keyed = len(self.problems)

    def suppressions(self) -> list[Suppression]:
        """Inline ``oomaudit: ignore[ID,...] reason`` in this format's comments."""
        if self._suppressions is None:
            self._suppressions = []
            if "oomaudit:" in self.text:
                prefixes = self.reader.comment_prefixes if self.reader else ("#",)
                pattern = re.compile(_SUPPRESSION)
                for number, line in enumerate(self.lines, 1):
                    starts = [line.find(p) for p in prefixes if p in line]
                    m = pattern.search(line, min(starts)) if starts else None
                    if m:
                        ids = tuple(i.strip().upper() for i in m.group(2).split(",") if i.strip())
                        self._suppressions.append(Suppression(
                            number, ids, m.group(1) == "ignore-file", m.group(3).strip(),
                            own_line=not line[:min(starts)].strip()))
        return self._suppressions


def looks_binary(data: bytes) -> bool:
    return b"\0" in data[:SNIFF_BYTES]


def decode(data: bytes) -> str:
    """Config files are bytes to the programs that read them; we keep every byte that is
    valid UTF-8 and replace the rest (values that matter to us are ASCII)."""
    return data.decode("utf-8", errors="replace")
