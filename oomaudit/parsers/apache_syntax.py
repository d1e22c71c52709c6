"""Apache httpd configuration files as httpd 2.4 reads them, before any is evaluated
(server/util.c): logical lines, words, ``${VAR}``; and Debian's envvars, never run.

``parse_file`` turns one file into logical lines, as ``ap_cfg_getline`` delivers them: a
backslash right before the newline joins the next line (no space added; a continued last
line counts one line more), leading and trailing whitespace goes. What the lines mean
depends on what was read before them (Define, LoadModule), so
``oomaudit.parsers.apache_loader`` evaluates them, with ``getword`` and ``resolve_env``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from ..reading import Source
from ..record import Record

SPACE = " \t\n\v\f\r"  # C isspace()


class Line(NamedTuple):
    """One logical line as ``ap_cfg_getline`` delivers it: continuations joined, C whitespace
    trimmed at both ends."""

    number: int  # the last physical line of a continued line, as httpd counts it
    text: str


class ConfigFile(Record):
    """One file as the reader parses it: its logical lines, not yet evaluated. What they mean
    depends on what was read before them (Define, LoadModule), so
    ``apache_loader.Loader`` does that."""

    def __init__(self, source: Source, lines: list[Line]):
        self.source = source
        self.lines = lines


def logical_lines(text: str) -> list[Line]:
    r"""``ap_varbuf_cfg_getline``: a line ending in ``\`` + newline (``\r\n`` too) continues
    on the next one with the backslash removed; the result is trimmed of C whitespace.
    A file that ends right after a continuation still counts one more (empty) read."""
    lines: list[Line] = []
    physical = text.split("\n")
    ends_with_newline = text.endswith("\n")
    if ends_with_newline:
        physical.pop()
    number, pending = 0, None  # pending: the pieces of a continued line (joined once)
    for index, raw in enumerate(physical):
        number += 1
        has_newline = index < len(physical) - 1 or ends_with_newline
        piece = raw[:-1] if has_newline and raw.endswith("\r") else raw
        if has_newline and piece.endswith("\\"):
            pending = [] if pending is None else pending
            pending.append(piece[:-1])
            continue
        joined = "".join(pending or ()) + (piece if has_newline else raw)
        pending = None
        lines.append(Line(number, joined.strip(SPACE)))
    if pending is not None:  # EOF after a continuation: getstr was called once more
        lines.append(Line(number + 1, "".join(pending).strip(SPACE)))
    return lines


def parse_file(source: Source) -> ConfigFile:
    """The reader's parse: logical lines only. What they mean depends on what was read
    before them (Define, LoadModule), so evaluation happens in
    ``apache_loader.Loader``."""
    return ConfigFile(source, logical_lines(source.text))


_BLANKS = re.compile(r"[ \t\n\v\f\r]*")  # runs of SPACE and of anything else: one scan
_UNBLANK = re.compile(r"[^ \t\n\v\f\r]*")  # in C, not a loop over characters in Python


def getword(line: str) -> tuple[str, str]:
    """``ap_getword_conf``: the next word (quotes removed, ``\\"`` and ``\\\\`` unescaped)
    and the rest of the line with leading whitespace skipped."""
    pos = _BLANKS.match(line).end()
    if pos == len(line):
        return "", ""
    quote = line[pos]
    if quote in "\"'":
        end = pos + 1
        while end < len(line) and line[end] != quote:
            end += 2 if line[end] == "\\" and end + 1 < len(line) and \
                line[end + 1] in (quote, "\\") else 1
        word = _unescape(line[pos + 1:end], quote)
        if end < len(line):
            end += 1
    else:
        end = _UNBLANK.match(line, pos).end()
        word = _unescape(line[pos:end], "")
    return word, line[_BLANKS.match(line, end).end():]


def _unescape(text: str, quote: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and (text[i + 1] == "\\" or
                                                      (quote and text[i + 1] == quote)):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


_VAR = re.compile(r"\$\{([^}]*)\}")


def resolve_env(line: str, lookup: Callable[[str], str | None],
                undefined: list[str]) -> str:
    """``ap_resolve_env``: each ``${NAME}`` becomes its Define'd value or environment
    variable; an unknown one stays as written (httpd warns, AH00111). Values are not
    scanned again."""
    if "$" not in line:
        return line

    def substitute(m: re.Match) -> str:
        value = lookup(m.group(1))
        if value is None:
            undefined.append(m.group(1))
            return m.group(0)
        return value
    return _VAR.sub(substitute, line)


_EXPORT = re.compile(r"^[ \t]*export[ \t]+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def envvars(text: str) -> dict[str, str]:
    """Debian's /etc/apache2/envvars is a shell script that apache2ctl sources; we never run
    it. Its ``export NAME=value`` lines are read, quotes removed, and ``$NAME``/``${NAME}``
    of earlier exports substituted (anything else, such as $SUFFIX, is empty as in the
    default /etc/apache2 case)."""
    found: dict[str, str] = {}
    for raw in text.split("\n"):
        m = _EXPORT.match(raw)
        if not m:
            continue
        value = m.group(2).strip()
        if " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[m.group(1)] = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
                                   lambda v: found.get(v.group(1), ""), value)
    return found
