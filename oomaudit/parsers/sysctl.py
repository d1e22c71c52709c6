"""sysctl.d files read the way both programs that apply them read them.

Two programs apply these files and they disagree in places, so every file is
parsed twice, once per *dialect*, and every merge is done per dialect:

* ``procps``: ``sysctl --system`` (procps-ng 4.0.2, what admins and non-systemd
  init scripts run). A line is what ``getline`` returns (ends at ``\\n`` only);
  blanks are C ``isspace`` (`` \\t\\n\\v\\f\\r``); lines shorter than 2 bytes are
  skipped; after the leading ``-`` (ignore errors) the key is *not* stripped
  again, so ``- vm.x = 1`` names the key `` vm.x``, which does not exist. Every
  assignment is written in order (the last one wins); ``/etc/sysctl.conf`` is
  read after all sysctl.d files, always.
* ``systemd``: ``systemd-sysctl`` (systemd 252, what runs at boot on systemd
  hosts). A line also ends at ``\\r``; blanks are `` \\t\\n\\r``; the key is
  stripped again after ``-``. Assignments go into an ordered map: a repeated
  key with a new value moves to the end, a repeated identical value keeps its
  place, and a later ``-key`` line (no ``=``) *replaces* an earlier assignment
  of that key, so the key is not written at all. Hidden files (``.x.conf``) are
  not read, and ``/etc/sysctl.conf`` only through the
  ``/etc/sysctl.d/99-sysctl.conf`` symlink.

Shared by both: ``#`` and ``;`` start a comment only as the first non-blank
character (``2 # note`` is the value ``2 # note``); the first ``=`` splits key
and value, both stripped; the first separator of a key decides its style
(``vm.a/b`` and ``vm/a.b`` swap ``.`` and ``/``); glob keys (``*?[``) apply to
every matching setting that has no explicit line of its own (explicit lines
win wherever they are), and ``-key`` without a value excludes a key from globs.

The module is pure: text in, plain records out; no I/O and no rule logic.
tests/sysctl/test_sysctl_oracle.py checks it against both real programs.

One concern: sysctl files as the two programs read them. The dialects run through the line
syntax, the key names and the merge alike, so these stay together, with what a value is
(the kernel's integer parsing) and what a sysctl file is (the sniffer).
"""
from __future__ import annotations

import fnmatch
import re
from typing import NamedTuple

from ..cnumbers import digits as c_digits
from ..record import Record
from .linescan import numbered

PROCPS, SYSTEMD = "procps", "systemd"
DIALECTS = (PROCPS, SYSTEMD)
_BLANKS = {PROCPS: " \t\n\v\f\r", SYSTEMD: " \t\n\r"}
_GLOB_CHARS = re.compile(r"[*?\[]")
_SEPARATOR = re.compile(r"[./]")
# A line either program may set something on: not blanks, not a comment (a \r ends a line
# for systemd, so a comment holding one is read whole). Most of a shipped sysctl.conf is
# comments, passed over in one C scan.
_SETTING_LINE = re.compile(r"^(?![ \t]*(?:[#;][^\r\n]*)?$).+", re.M)


class Assignment(NamedTuple):
    """One line that sets (or, with ``value`` None, excludes from globs) a key.

    ``key`` is the kernel file below /proc/sys (``vm/overcommit_memory``);
    ``path`` is procps' own unsimplified spelling of it, which procps uses to decide
    whether an explicit line overrides a glob; ``written`` is the key as in the file.
    """

    key: str
    value: str | None
    line: int
    ignore_errors: bool
    written: str
    path: str = ""

    @property
    def name(self) -> str:
        return display_name(self.key)

    @property
    def is_glob(self) -> bool:
        return bool(_GLOB_CHARS.search(self.key))


class Problem(NamedTuple):
    """A line that sets nothing in either dialect (no ``=``, or no key before it), found by the
    procps pass so that it is reported once; ``message`` is the CONF001 text. ``skipped``:
    both programs pass over the line with a warning and apply the rest (a stray shell line),
    where a line with no key is an error to procps (it exits 1)."""

    line: int
    message: str
    skipped: bool = False


class SysctlFile(Record):
    """One file's assignments in both dialects, plus the lines neither can use."""

    def __init__(self, assignments: dict[str, list[Assignment]],
                 problems: list[Problem] | None = None):
        self.assignments = assignments
        self.problems = [] if problems is None else problems


def slashdot(key: str) -> str:
    """The kernel path for a key: if its first separator is a ``.``, dots and slashes
    swap (``net.ipv4.conf.eth0/1.rp_filter`` -> ``net/ipv4/conf/eth0.1/rp_filter``);
    a key that starts with ``/`` style is already a path."""
    first = _SEPARATOR.search(key)
    if not first or first.group() == "/":
        return key
    return display_name(key)


def simplify(path: str) -> str:
    """Collapse ``//`` and ``/./`` and drop the leading ``/``, as the kernel resolves the
    file (and as systemd's path_simplify spells it)."""
    return "/".join(p for p in path.split("/") if p not in ("", "."))


def display_name(key: str) -> str:
    """``vm/overcommit_memory`` -> ``vm.overcommit_memory`` (sysctl(8)'s spelling): dots and
    slashes swapped (str.translate would look each character up in a dict)."""
    if "/" not in key:
        return key.replace(".", "/")
    return "/".join([part.replace("/", ".") for part in key.split(".")])


def canonical(written: str) -> str:
    """The /proc/sys path a key written as ``vm.overcommit_memory`` (or ``vm/...``) names."""
    return simplify(slashdot(written))


def parse_sysctl(text: str) -> SysctlFile:
    """Every assignment of ``text`` in both dialects, with 1-based ``\\n`` line numbers."""
    result = SysctlFile({PROCPS: [], SYSTEMD: []})
    lines = text.count("\n") + 1
    for number, raw in numbered(_SETTING_LINE, text):
        last = number == lines
        result.assignments[PROCPS].extend(_procps_line(raw, number, last, result.problems))
        # systemd's read_line also ends a line at a lone \r
        for part in raw.split("\r"):
            result.assignments[SYSTEMD].extend(_systemd_line(part, number))
    return result


def _procps_line(raw: str, number: int, last: bool, problems: list[Problem]):
    blanks = _BLANKS[PROCPS]
    with_newline = raw if last else raw + "\n"
    if len(with_newline) < 2:
        return
    key = with_newline.lstrip(blanks)
    if len(key) < 2 or key[0] in "#;":
        return
    if "=" not in key:
        if key[0] == "-":  # a glob exclusion
            written = key[1:].rstrip(blanks)
            path = slashdot(written)
            yield Assignment(simplify(path), None, number, False, written, path)
        else:
            problems.append(Problem(number, f"not a 'key = value' line: {raw.strip()[:80]!r}: "
                                            "sysctl skips it ('invalid syntax, continuing...'), "
                                            "systemd-sysctl too ('Line is not an assignment, "
                                            "ignoring'); nothing runs it", skipped=True))
        return
    key, _, value = key.partition("=")
    ignore = key[0] == "-" if key else False
    if ignore:
        key = key[1:]  # procps does not strip again: '- vm.x' names ' vm.x'
    key = key.rstrip(blanks)
    if not key.strip(blanks):
        problems.append(Problem(number, "no key before '=': the line sets nothing"))
        return
    path = slashdot(key)
    yield Assignment(simplify(path), value.strip(blanks), number, ignore, key, path)


def _systemd_line(raw: str, number: int):
    blanks = _BLANKS[SYSTEMD]
    p = raw.strip(blanks)
    if not p or p[0] in "#;":
        return
    key, eq, value = p.partition("=")
    ignore = False
    if key.startswith("-"):
        key, ignore = key[1:], bool(eq)
    elif not eq:
        return  # reported once, by the procps pass
    key = key.strip(blanks)
    if not key:
        return
    path = canonical(key)
    yield Assignment(path, value.strip(blanks) if eq else None, number, ignore, key, path)


def matches(pattern: str, key: str) -> bool:
    """glob(3) on /proc/sys paths: wildcards never cross a ``/``."""
    parts, names = pattern.split("/"), key.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names, strict=True))


class Origin(NamedTuple):
    """Where an assignment sits: the file as the host names it and the assignment."""

    file: str
    assignment: Assignment

    @property
    def where(self) -> str:
        return f"{self.file}:{self.assignment.line}"


class Merged(Record):
    """The settings one program applies, in the order it writes them."""

    def __init__(self, dialect: str, writes: list[Origin], excluded: set[str],
                 procps_paths: set[str] | None = None):
        self.dialect = dialect
        self.writes = writes  # each explicit or glob assignment in write order
        self.excluded = excluded  # keys that globs must skip (explicit or '-key' lines)
        self.procps_paths = set() if procps_paths is None else procps_paths

    def final(self, key: str) -> Origin | None:
        """The assignment whose value ``key`` ends up with, or None when nothing sets it."""
        found = None
        for origin in self.writes:
            a = origin.assignment
            if a.is_glob:
                if matches(a.key, key) and not self.glob_blocked(key):
                    found = origin
            elif a.key == key:
                found = origin
        return found

    def glob_blocked(self, key: str) -> bool:
        if self.dialect == PROCPS:  # procps compares its unsimplified path strings
            return key in self.procps_paths
        return key in self.excluded


def merge(files: list[tuple[str, SysctlFile]], dialect: str) -> Merged:
    """Replay ``files`` (already in the program's reading order) as ``dialect`` does."""
    if dialect == PROCPS:
        writes, paths = [], set()
        for label, doc in files:
            for a in doc.assignments[PROCPS]:
                paths.add(a.path)
                if a.value is not None:
                    writes.append(Origin(label, a))
        return Merged(PROCPS, writes, set(), paths)
    table: dict[str, Origin] = {}
    for label, doc in files:
        for a in doc.assignments[SYSTEMD]:
            existing = table.get(a.key)
            if existing is not None:
                if existing.assignment.value == a.value:
                    continue
                del table[a.key]  # a new value (or an exclusion) moves the key to the end
            table[a.key] = Origin(label, a)
    writes = [o for o in table.values() if o.assignment.value is not None]
    return Merged(SYSTEMD, writes, set(table))


def kernel_int(value: str) -> int | None:
    """The integer the kernel stores when ``value`` is written to an integer sysctl, or
    None when the write fails (EINVAL).

    Measured on Linux 6.x (``echo V > /proc/sys/vm/swappiness``): leading blanks are
    skipped; the number is read like strtoul with base 0 (``0x3c`` is 60, ``060`` is 48,
    ``080`` fails); a ``-`` sign is allowed, ``+`` is not; after the number a blank or
    the end must follow and whatever comes after a blank is ignored (``60 # x`` is 60,
    ``60#x`` and ``"60"`` fail).
    """
    m = re.match(r"[ \t\n\v\f\r]*(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(?=[ \t\n]|$)",
                 value)
    if not m:
        return None
    digits = m.group(2)
    if digits[:2].lower() == "0x":
        number = c_digits(digits[2:], 16)
    elif digits.startswith("0"):
        number = c_digits(digits, 8)
    else:
        number = c_digits(digits)
    if number >= 1 << 64:
        return None  # strtoul overflows: ERANGE
    return -number if m.group(1) else number


_SYSCTL_KEY = re.compile(r"-?\s*[A-Za-z0-9_*?\[\]-]+(?:[./][A-Za-z0-9_*?\[\]:+@-]+)+")
_KNOWN_TOP = ("vm.", "net.", "kernel.", "fs.", "vm/", "net/", "kernel/", "fs/")


def looks_like_sysctl(head: str) -> bool:
    """True when a file reads as sysctl settings: at least half of the non-comment lines
    are ``vm.x = y``-style assignments with separator keys, at least one under vm., net.,
    kernel. or fs.; or, for a file of comments only, commented-out such assignments.
    (Half, not all: real files carry stray ``sysctl -w k=v`` command lines.)"""
    lines = head.split("\n")
    if not head.endswith("\n") and len(head.encode("utf-8", "replace")) >= 4000:
        lines.pop()  # the sniffed head may cut the last line in half
    good = other = known = commented = 0
    for line in lines:
        text = line.strip(" \t\r")
        if not text:
            continue
        comment = text[0] in "#;"
        body = text.lstrip("#; \t") if comment else text
        key, eq, _ = body.partition("=")
        is_setting = bool(eq) and _SYSCTL_KEY.fullmatch(key.strip(" \t")) is not None
        is_known = is_setting and key.strip(" \t-").startswith(_KNOWN_TOP)
        if comment:
            commented += is_known
        elif is_setting:
            good += 1
            known += is_known
        else:
            other += 1
    if good:
        return known > 0 and other <= good
    return other == 0 and commented > 0
