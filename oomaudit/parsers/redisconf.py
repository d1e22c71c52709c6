"""One redis.conf read as redis-server 7.0 reads it, without the host: its directives, and
the problems that stop redis-server from starting.

As ``loadServerConfigFromString`` (src/config.c) reads it: the text is split at ``\\n``
only, each line trimmed of `` \\t\\r\\n``; a line starting with ``#`` is a comment, and
only there (``maxmemory 2gb # note`` is four arguments, which Redis refuses); the arguments
are split as ``redis_values.split_args`` says, the directive's name compared in any case. Which
setting wins is the redis plugin's ``instances`` (the last, except ``save``, whose lines
add up), as is following ``include``.

Only the settings the rules read are checked, with the messages redis-server gives when it
refuses to start over them (a CONF001 at the line): a directive this module does not know
may be a newer version's, so it is left alone rather than called an error, unless its name
has a character no directive's name has.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.record import Record

from .redis_values import (
    INT_MAX,
    POLICIES,
    integer,
    lower,
    memory,
    save_args,
    save_params,
    split_args,
)

# Directives only a redis.conf writes (the redis plugin's sniff_hint is their prefilter)
_TYPICAL = re.compile(r"^[ \t]*(maxmemory|maxmemory-policy|appendonly|appendfsync|dbfilename|"
                      r"replicaof|slaveof|protected-mode|tcp-backlog|rdbcompression)[ \t]+\S",
                      re.MULTILINE | re.IGNORECASE)
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")  # every directive's name, a module's config's too

# The settings read here, by kind (one argument each, except save), and an integer's bounds
MEMORY, ENUM, BOOL, INT, SAVE = "memory", "enum", "bool", "int", "save"
SETTINGS = {"maxmemory": MEMORY, "maxmemory-policy": ENUM, "appendonly": BOOL,
            "auto-aof-rewrite-percentage": INT, "disable-thp": BOOL, "save": SAVE, "port": INT}
BOUNDS = {"auto-aof-rewrite-percentage": (0, INT_MAX), "port": (0, 65535)}


class Directive(NamedTuple):
    """One line that is not a comment: its name in lower case, its arguments, its line."""

    name: str
    args: tuple[str, ...]
    line: int


class RedisFile(Record):
    """One file's directives in order. ``sentinel``: it is a Sentinel's file (redis-sentinel
    reads it, not redis-server), which holds no server's memory settings."""

    def __init__(self, source: object, directives: list[Directive]):
        self.source = source  # oomaudit.Source
        self.directives = directives
        self.sentinel = any(d.name == "sentinel" for d in directives)


def parse(source) -> RedisFile:
    """The reader's parse(): every directive of the file; an unreadable line or a value
    Redis refuses is a CONF001 of ``source`` (redis-server would not start)."""
    return parse_joined([source])[0]


def parse_joined(sources: list) -> list[RedisFile]:
    """The files one glob include reads, as redis-server reads them: their texts joined
    before the lines are split (``loadServerConfig``), so a file that does not end with a
    newline lends its last line the next file's first one. Such a line belongs here to the
    first of the two, and its problem says why it reads as it does."""
    places: list[tuple[int, object, int]] = []  # (first joined line, source, its line there)
    joined: dict[int, object] = {}  # joined line -> the source whose first line it took
    line, unfinished = 1, None  # the source owning line ``line`` while it has no newline yet
    for source in sources:
        if not source.text:
            continue
        newlines = source.text.count("\n")
        if unfinished is None:
            places.append((line, source, 1))
            owner = source
        else:
            joined[line] = source
            if newlines:
                places.append((line + 1, source, 2))
            owner = source if newlines else unfinished
        line += newlines
        unfinished = None if source.text.endswith("\n") else owner
    found: dict[int, list[Directive]] = {id(s): [] for s in sources}
    text = "".join(s.text for s in sources)
    for number, raw in enumerate(text.split("\n") if text else (), 1):
        first, source, local = next(p for p in reversed(places) if p[0] <= number)
        local += number - first
        directive, error = _directive(raw, local)
        if error:
            if number in joined:
                error += (f" (this is the file's last line joined with the first line of "
                          f"{joined[number].display}: the file does not end with a newline, "
                          "and an include's glob reads the two as one text)")
            source.problem("CONF001", local, f"redis-server refuses to start: {error}",
                           key=directive.name if directive else source.line_text(local))
        elif directive is not None:
            found[id(source)].append(directive)
    return [RedisFile(s, found[id(s)]) for s in sources]


def _directive(raw: str, number: int) -> tuple[Directive | None, str]:
    """One line: its directive (None for a comment or a blank line) and what redis-server
    says when it refuses it ("" when it does not)."""
    line = raw.strip(" \t\r\n")
    if not line or line[0] == "#":
        return None, ""
    args = split_args(line)
    if args is None:
        return None, "Unbalanced quotes in configuration line"
    if not args:
        return None, ""
    directive = Directive(lower(args[0]), tuple(args[1:]), number)
    return directive, check(directive)


def sniff(head: str) -> bool:
    """A redis.conf named otherwise (``/etc/redis/6379.conf``, ``cache.conf``): two
    directives that only Redis writes (a template is refused before: oomaudit/recognise.py)."""
    return len({lower(m.group(1)) for m in _TYPICAL.finditer(head)}) >= 2


def check(directive: Directive) -> str:
    """What redis-server says when it refuses this directive, or "" (also for directives
    this module does not read)."""
    name, args = directive.name, directive.args
    kind = SETTINGS.get(name)
    if not _NAME.fullmatch(name):  # no version of Redis has such a directive
        return "Bad directive or wrong number of arguments"
    if name == "include":
        return "" if len(args) == 1 else "Bad directive or wrong number of arguments"
    if kind is None:
        return ""
    if kind == SAVE:
        if args == ("",):
            return ""
        return "" if save_params(save_args(args)) is not None else "Invalid save parameters"
    if len(args) != 1:
        return "wrong number of arguments"
    value = args[0]
    if kind == MEMORY and memory(value) is None:
        return "argument must be a memory value"
    if kind == BOOL and lower(value) not in ("yes", "no"):
        return "argument must be 'yes' or 'no'"
    if kind == ENUM and lower(value) not in POLICIES:
        return f"argument(s) must be one of the following: {', '.join(POLICIES)}"
    if kind == INT:
        number, (low, high) = integer(value), BOUNDS[name]
        if number is None:
            return "argument couldn't be parsed into an integer"
        if not low <= number <= high:
            return f"argument must be between {low} and {high} inclusive"
    return ""
