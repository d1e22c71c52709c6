"""jvm.options and jvm.options.d/*.options as Elasticsearch's and OpenSearch's launcher
reads them (``JvmOptionsParser``): one JVM option per line; ``#`` at the very start of a
line is a comment; a line of blanks is skipped; a line may apply to some JVM majors only,
``8:`` (exactly 8), ``9-:`` (9 and later) or ``9-17:`` (9 to 17). Any other line (an
option not starting with ``-``, a leading blank, an upper bound below the lower one, a
number Java's ``Integer.parseInt`` refuses) makes the launcher refuse to start: CONF001.

Lines are split as Java's ``BufferedReader.readLine`` splits them (``\\n``, ``\\r``,
``\\r\\n``), and the option pattern's ``.`` is Java's, which stops at ``\\x85``, ``\\u2028``
and ``\\u2029`` too. Neither program is packaged by Debian, so no differential test runs
the launcher: this follows its source and its documentation
(https://www.elastic.co/guide/en/elasticsearch/reference/current/advanced-configuration.html).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.cnumbers import digits as c_digits
from oomaudit.reading import Source

INT_MAX = 2**31 - 1  # Integer.parseInt's bound
# ((?<start>\d+)(?<range>-)?(?<end>\d+)?:)?(?<option>-.*)$ with Java's \d and .
_LINE = re.compile(r"(?:([0-9]+)(-)?([0-9]+)?:)?(-[^\n\r\x85\u2028\u2029]*)\Z")
_BLANK = re.compile(r"[ \t\n\x0b\f\r]*\Z")  # Java's \s*


class Option(NamedTuple):
    """One option line: ``text`` applies to JVM majors ``low``..``high`` (both inclusive)."""

    text: str
    line: int
    low: int = 0
    high: int = INT_MAX

    def applies(self, major: int) -> bool:
        return self.low <= major <= self.high


class Options(NamedTuple):
    source: Source
    options: list[Option]


def _bounds(start: str | None, dash: str | None, end: str | None) -> tuple[int, int] | None:
    """(low, high) of a version prefix; None when the launcher refuses it."""
    if start is None:
        return 0, INT_MAX
    low = c_digits(start)
    high = low if dash is None else INT_MAX if end is None else c_digits(end)
    if low > INT_MAX or high > INT_MAX or high < low:
        return None
    return low, high


def parse(source: Source) -> Options:
    options = []
    lines = re.split(r"\r\n|\r|\n", source.text)
    if lines and lines[-1] == "":
        lines.pop()  # readLine returns no line after the last terminator
    for number, line in enumerate(lines, 1):
        if line.startswith("#") or _BLANK.match(line):
            continue
        m = _LINE.match(line)
        bounds = _bounds(*m.group(1, 2, 3)) if m else None
        if bounds is None:
            source.problem("CONF001", number, "Elasticsearch refuses this jvm.options line "
                           f"(not an option starting with '-', optionally after 'N:', 'N-:' "
                           f"or 'N-M:'): {line!r}", key=line)
            continue
        options.append(Option(m.group(4), number, *bounds))
    return Options(source, options)
