"""memcached's options as memcached 1.6 reads them, from Debian's /etc/memcached.conf or a
command line: the item memory ``-m`` (``--memory-limit``) in bytes.

Debian's unit runs ``systemd-memcached-wrapper /etc/memcached.conf`` (init: the same
``start-memcached``), a Perl script that reads the file line by line: each ``#`` not after
a backslash cuts to the next ``#`` (``s/(?<!\\\\)\\#[^\\#]*//g``), lines are trimmed, blank
ones and those starting ``-d`` or ``-h`` are dropped, and a line not starting with ``-``
that holds a blank (``logfile /var/log/...``) is a directive for the wrapper, not an
option. The rest are joined with blanks and ``exec``'d as one string, so the shell splits
them. memcached then reads them with ``getopt_long`` (clusters such as ``-vm64``, long
names and their unique abbreviations, the last ``-m`` wins) and takes ``-m`` with C's
``atoi``: digits after optional blanks and sign, the rest ignored (``-m 1g`` is 1 MiB,
``-m 2048m`` 2 GiB), an int that wraps, times 2^20 as a ``size_t``. It refuses to start
when the default 1 MiB item size is above half the memory (``-m 0``, ``-m 1``).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit import shellwords
from oomaudit.cnumbers import digits as c_digits
from oomaudit.reading import Source

MiB = 1 << 20
DEFAULT_MB = 64  # memcached's settings.maxbytes without -m
ITEM_SIZE_MAX = MiB  # the default -I
_SIZE_T = 1 << 64
_LONG = 1 << 63
_COMMENT = re.compile(r"(?<!\\)#[^#]*")
# what /bin/sh would treat as syntax rather than words: the wrapper's string goes to sh -c
_SHELL = re.compile(r"[$`;&|<>(){}*?\[\]~]")
# getopt_long's optstring and long options (memcached.c 1.6): those taking an argument
_SHORT_ARG = set("apsUmcluPfnDtRbBIYeo")
_SHORT_FLAG = set("AdrMkvhiVLCSFXWZ")
_LONG_OPTIONS = {
    "port": "p", "udp-port": "U", "unix-socket": "s", "unix-mask": "a", "enable-shutdown": "A",
    "listen": "l", "daemon": "d", "enable-coredumps": "r", "user": "u", "memory-limit": "m",
    "disable-evictions": "M", "conn-limit": "c", "lock-memory": "k", "verbose": "v",
    "help": "h", "license": "i", "version": "V", "pidfile": "P", "slab-growth-factor": "f",
    "slab-min-size": "n", "enable-largepages": "L", "threads": "t",
    "max-reqs-per-event": "R", "disable-cas": "C", "listen-backlog": "b", "protocol": "B",
    "max-item-size": "I", "enable-sasl": "S", "disable-flush-all": "F",
    "disable-dumping": "X", "disable-watch": "W", "auth-file": "Y", "memory-file": "e",
    "enable-ssl": "Z", "extended": "o"}


class Option(NamedTuple):
    letter: str  # the short option it is, long names mapped ("memory-limit" -> "m")
    value: str  # its argument ("" for a flag)
    first: int  # the index of the word that names it
    last: int  # the index of the word that holds its value


class Memory(NamedTuple):
    """What ``-m`` leaves in ``settings.maxbytes``."""

    bytes: int
    said: str  # "-m 64" as written, or "-m not set (memcached's default 64)"
    word: int | None  # the index of the word that set it, None for the default


def getopt(words: list[str]) -> tuple[list[Option], str, int]:
    """The options of ``words`` (argv without argv[0]) as GNU ``getopt_long`` reads them,
    the error memcached would stop at ("" for none) and the index of its word."""
    options: list[Option] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            break
        if word.startswith("--"):
            name, equals, value = word[2:].partition("=")
            matches = [n for n in _LONG_OPTIONS if n == name] or \
                [n for n in _LONG_OPTIONS if n.startswith(name)]
            if len(matches) != 1:
                return options, f"unrecognized option {word!r}", i
            letter = _LONG_OPTIONS[matches[0]]
            if letter in _SHORT_ARG and not equals:
                if i + 1 >= len(words):
                    return options, f"option {word!r} requires an argument", i
                i, value = i + 1, words[i + 1]
                options.append(Option(letter, value, i - 1, i))
            elif letter not in _SHORT_ARG and equals:
                return options, f"option {word!r} doesn't allow an argument", i
            else:
                options.append(Option(letter, value, i, i))
        elif word.startswith("-") and word != "-":
            start, j = i, 1
            while j < len(word):
                letter = word[j]
                if letter in _SHORT_FLAG:
                    options.append(Option(letter, "", i, i))
                    j += 1
                    continue
                if letter not in _SHORT_ARG:
                    return options, f"invalid option -- {letter!r}", i
                value = word[j + 1:]
                if not value:
                    if i + 1 >= len(words):
                        return options, f"option requires an argument -- {letter!r}", i
                    i, value = i + 1, words[i + 1]
                options.append(Option(letter, value, start, i))
                break
        i += 1
    return options, "", -1


def atoi(text: str) -> int:
    """glibc's ``atoi``: ``(int) strtol(text, NULL, 10)``: leading blanks, a sign, digits,
    the rest ignored; strtol saturates at the long's range, the cast to int wraps."""
    match = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)", text)
    value = c_digits(match.group(2))
    value = -value if match.group(1) == "-" else value
    value = max(min(value, _LONG - 1), -_LONG)
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def memory(options: list[Option], words: list[str]) -> Memory:
    """``settings.maxbytes``: the last ``-m``, else 64 MiB."""
    last = [o for o in options if o.letter == "m"]
    if not last:
        return Memory(DEFAULT_MB * MiB, f"-m not set (memcached's default {DEFAULT_MB})", None)
    option = last[-1]
    nbytes = (atoi(option.value) % _SIZE_T) * MiB % _SIZE_T
    return Memory(nbytes, " ".join(words[option.first:option.last + 1]), option.last)


def refusal(options: list[Option], limit: Memory) -> str:
    """Why memcached would refuse to start with this memory ("" when it starts): the
    default item size above half of it. An explicit ``-I`` is not judged here."""
    if any(o.letter == "I" for o in options) or ITEM_SIZE_MAX <= limit.bytes // 2:
        return ""
    return (f"memcached refuses to start: {limit.said} leaves {limit.bytes} bytes, and the "
            "1 MiB item size may not be above half of it ('Cannot set item size limit "
            "higher than 1/2 of memory max')")


class Config(NamedTuple):
    """One memcached.conf as Debian's wrapper hands it to memcached."""

    source: Source
    words: list[str]  # the arguments memcached gets
    lines: list[int]  # the line of each word
    memory: Memory
    failed: bool  # memcached would not start (or the wrapper's shell fails): not judged

    @property
    def line(self) -> int | None:
        return None if self.memory.word is None else self.lines[self.memory.word]


def wrapper_lines(text: str) -> list[tuple[int, str]]:
    """The lines systemd-memcached-wrapper passes on, with their numbers."""
    kept = []
    for number, line in enumerate(text.split("\n"), 1):
        line = _COMMENT.sub("", line).strip()
        if not line or re.match(r"-[dh]", line):
            continue
        if not line.startswith("-"):
            directive = re.match(r"(.*?)\s+", line)
            if directive and directive.group(1) != "0":  # Perl's truth: "0" is false
                continue
        kept.append((number, line))
    return kept


def parse(source: Source) -> Config:
    words: list[str] = []
    lines: list[int] = []
    failed = False
    for number, line in wrapper_lines(source.text):
        if _SHELL.search(line):
            source.problem("CONF001", number, "the wrapper runs this line through /bin/sh, "
                           "whose syntax ($, ;, |, globs, ...) oomaudit does not expand: "
                           f"{line!r}", key=line)
            failed = True
            continue
        try:
            split = shellwords.split(line)
        except ValueError:
            source.problem("CONF001", number, f"unbalanced quote: /bin/sh refuses {line!r}",
                           key=line)
            failed = True
            continue
        words += split
        lines += [number] * len(split)
    options, error, at = getopt(words)
    if error:
        where = lines[at]
        source.problem("CONF001", where, f"memcached refuses its options: {error}", key=error)
        failed = True
    limit = memory(options, words)
    refused = "" if failed else refusal(options, limit)
    if refused:
        source.problem("CONF001", lines[limit.word] if limit.word is not None else None,
                       refused, key="-m")
        failed = True
    return Config(source, words, lines, limit, failed)
