"""Words of a POSIX shell-like line exactly as ``shlex.split(text)`` gives them, in linear time.

``shlex`` builds each word a character at a time with ``self.token += ch`` on an attribute,
which copies the word on every character: a 16 MiB value (a unit's ExecStart, a
memcached.conf line, an EARLYOOM_ARGS) would take hours. This reads the same words with a
regex per run of plain characters or quoted part (tests/adversarial/test_shellwords.py
compares the two on generated text): words split at space, tab, CR and LF; ``'...'`` is
literal; inside ``"..."`` a backslash escapes only ``"`` and ``\\``; outside quotes a
backslash makes the next character literal; ``#`` is no comment. An unclosed quote or a
trailing backslash is the ValueError shlex raises.
"""
from __future__ import annotations

import re

_BLANKS = re.compile(r"[ \t\r\n]*")
_PART = re.compile(r"""([^ \t\r\n'"\\]+)|'([^']*)'|"([^"\\]*(?:\\.[^"\\]*)*)"|\\(.)""", re.S)
_IN_DOUBLE = re.compile(r'\\(["\\])')


def split(text: str) -> list[str]:
    words: list[str] = []
    pos, end = _BLANKS.match(text).end(), len(text)
    while pos < end:
        parts = []
        while pos < end and text[pos] not in " \t\r\n":
            m = _PART.match(text, pos)
            if m is None:
                raise ValueError("No escaped character" if text[pos] == "\\"
                                 else "No closing quotation")
            plain, single, double, escaped = m.groups()
            if double is not None:
                parts.append(_IN_DOUBLE.sub(r"\1", double))
            else:
                parts.append(plain or single or escaped or "")
            pos = m.end()
        words.append("".join(parts))
        pos = _BLANKS.match(text, pos).end()
    return words
