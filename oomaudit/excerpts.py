"""A value from an audited file as a finding quotes it: whole when it is short, else its
start and its length.

A file may hold a 5,000-digit number, a 16 MiB line or a path of 4,000 characters, and a
finding that quotes the value whole repeats it in every format, several times (the message,
the evidence), for no reader's benefit. ``Finding`` bounds its message and its evidence
with ``bounded``, so that no rule, reader or third-party plugin has to cut a value itself:
every word or quoted value longer than ``LONGEST`` characters becomes its first ``SHOWN``
characters and its length (``'99999...' (5,000 characters)``). Prose is never cut: no
word of it is that long. The fix is left whole: it is what an operator pastes.
"""
from __future__ import annotations

import re

LONGEST = 200  # characters of one word or quoted value a finding repeats whole
SHOWN = 60  # characters shown of a longer one

# A quoted value as repr() writes it (opened after no word character, closed before none,
# escapes inside), or a run of characters without a blank: each LONGEST characters or more.
_LONG = re.compile(
    rf"(?<![\w'])'((?:[^'\\\n]|\\.){{{LONGEST},}})'(?!\w)"
    rf'|(?<![\w"])"((?:[^"\\\n]|\\.){{{LONGEST},}})"(?!\w)'
    rf"|(\S{{{LONGEST},}}?)([,.;:)]?)(?!\S)")


def excerpt(text: str, shown: int = SHOWN) -> str:
    """``text`` itself when it has ``shown`` characters or fewer, else its first ``shown``
    characters and how many it has: ``99999... (5,000 characters)``."""
    if len(text) <= shown:
        return text
    return f"{text[:shown]}... ({len(text):,} characters)"


def _cut(m: re.Match) -> str:
    if m.group(3) is not None:
        return excerpt(m.group(3)) + m.group(4)
    quote = "'" if m.group(1) is not None else '"'
    value = m.group(1) if m.group(1) is not None else m.group(2)
    return f"{quote}{value[:SHOWN]}...{quote} ({len(value):,} characters)"


def bounded(text: str) -> str:
    """``text`` (a message, an evidence's words) with every word or quoted value over
    ``LONGEST`` characters cut to its start and its length."""
    return _LONG.sub(_cut, text) if len(text) > LONGEST else text
