"""``--max-old-space-size`` as Node 20's V8 reads it, and the heap it gives.

V8 treats ``-`` and ``_`` in a flag's name alike and takes a size_t flag's value only
after ``=`` (``--max-old-space-size 512`` stops node: "illegal value"): blanks and a sign
before the digits, nothing after them; ``0`` (or nothing after ``=``) leaves V8's default,
and a value below 0 or above 2^64 - 1 is "out of bounds": V8 says so, ignores the flag
and node runs on. The
last flag wins; node reads ``NODE_OPTIONS`` before its command line. The heap limit V8
reports (``v8.getHeapStatistics().heap_size_limit``) is that old space plus the young
generation: three 16 MiB semi-spaces on 64-bit, whatever the old space. node's own
options are the words after ``node`` up to the script (or ``-e``/``-p`` code, or ``--``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

MiB = 1 << 20
YOUNG = 3 * 16 * MiB  # V8's young generation beside an explicit old space (64-bit)
_FLAG = re.compile(r"--max[-_]old[-_]space[-_]size(?:=(.*))?\Z", re.S)
_VALUE = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)\Z")


NAMES = ("node", "nodejs")
_TAKES_VALUE = {"-r", "--require", "--import", "--loader", "--experimental-loader", "-C",
                "--conditions", "--title", "--inspect-port", "--debug-port"}
_CODE = {"-e", "--eval", "-p", "--print"}


class Word(NamedTuple):
    text: str
    where: str  # file:line that wrote it


class OldSpace(NamedTuple):
    mib: int  # the old space in MiB
    word: Word  # the flag that set it

    @property
    def limit(self) -> int:
        """The heap limit in bytes: old space plus the young generation."""
        return self.mib * MiB + YOUNG


def old_space(words: list[Word]) -> tuple[OldSpace | None, str]:
    """The last ``--max-old-space-size`` of ``words`` (None: V8's default) and the error
    that stops node ("" for none)."""
    found = None
    for word in words:
        match = _FLAG.match(word.text)
        if not match:
            continue
        text = match.group(1)
        value = _VALUE.match(text or "")
        if text is None or not (value or text == ""):  # strtoll reads "" as 0, no error
            return None, f"illegal value for flag {word.text}"
        number = int(value.group(2)) if value else 0
        if number >= 1 << 64 or (number and value.group(1) == "-"):
            continue  # V8 prints "out of bounds" and keeps the value it had
        found = OldSpace(number, word) if number else None
    return found, ""


def node_options(words: list[str]) -> list[str] | None:
    """node's options on a command line that runs it (None when none does)."""
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] in NAMES:
            break
        if not (word.rsplit("/", 1)[-1] == "env" or (i and "=" in word)):
            return None  # another program, or env's NAME=VALUE before node
    else:
        return None
    options, rest = [], iter(words[i + 1:])
    for word in rest:
        if word == "--" or not word.startswith("-"):
            break
        options.append(word)
        if word in _CODE:
            break
        if word in _TAKES_VALUE:
            next(rest, None)
    return options
