"""The task table of an OOM report (``dump_tasks()``), kept as text and read in bulk.

The table is most of a report (tens to thousands of rows), yet a kill reports only the
victim's row and the five largest RSS. So the parser keeps the rows as the text they came
in (a fast scanner hands over whole runs of lines at once) and reads them here, when a kill
needs them, with regular expressions built for the columns the table's header printed: one
pass for every row's pid and RSS, one for the whole rows of the few pids reported. No
Python code runs per row: feeding each row through the state machine was most of the time
a dense log took.

A row is ``[ pid ]`` and one integer per column of the header, then the name (the last
column, free text); ranking reads a row up to its RSS. Integers have at most 20 digits
(no number past Python's limit). A pid's last row wins; at most ``MAX_ROWS`` rows and
``MAX_TEXT`` characters are kept per table, so memory is bounded on any input.

The kernel prints a table in ASCII with spaces between its columns. Such a table is read as
bytes, with patterns that know only the space as a blank and 0-9 as digits (``_PLAIN``),
and searched with stringzilla: about three times as fast as the same patterns over text,
where any Unicode blank separates columns and any Unicode digit is one (``_TEXT``). On such
a table both read the same rows, so one holding anything else (a tab, a non-ASCII name) is
read as text, and only the time differs.
"""
from __future__ import annotations

import re
from functools import lru_cache
from operator import itemgetter
from typing import Any

import stringzilla as sz

MAX_ROWS = 1 << 17
MAX_TEXT = 16 << 20
TOP_USERS = 5


# The blank between columns, a digit, and what is neither blank nor newline, over text and
# over plain ASCII bytes (the module's docstring); the patterns are built from one template.
_TEXT = (r"[^\S\n]", r"\d", r"\S")
_PLAIN = (" ", "[0-9]", r"[^ \n]")
_OTHER_BLANKS = b"\t\x0b\x0c\r\x1c\x1d\x1e\x1f"  # str.isspace() in ASCII, but " " and \n


def _compile(pattern: str, plain: bool) -> re.Pattern:
    return re.compile(pattern.encode() if plain else pattern)


@lru_cache(maxsize=64)
def _sizes(rss_at: int, plain: bool) -> re.Pattern:
    """The pid and the RSS of every row (the RSS the ``rss_at``-th column): what ranking
    needs, and all it reads, since this runs over every row of every report. Possessive
    repeats: a column is never split, so backtracking into one could only fail again."""
    blank, digit, solid = _PLAIN if plain else _TEXT
    return _compile(rf"\[{blank}*+({digit}{{1,10}}+)\]" + rf"{blank}++-?{digit}{{1,20}}+"
                    * (rss_at - 1) + rf"{blank}++({digit}{{1,20}}+)(?!{solid})", plain)


@lru_cache(maxsize=64)
def _whole(columns: int, plain: bool) -> re.Pattern:
    """A whole row: an integer per column after the pid, then the name."""
    blank, digit, solid = _PLAIN if plain else _TEXT
    return _compile(rf"\[{blank}*+({digit}{{1,10}}+)\]" + rf"{blank}++(-?{digit}{{1,20}}+)"
                    * (columns - 1) + rf"{blank}++({solid}.*)", plain)


def _row_of(data: str | bytes, pid: int, columns: int, plain: bool) -> tuple[str, ...] | None:
    """The last whole row of ``pid``: its ``pid]`` found from the end, each checked with the
    one pattern of the table (no regex compiled per pid: that cost more than the rest)."""
    key, pattern = f"{pid}]", _whole(columns, plain)
    key, bracket = (key.encode(), b"[") if plain else (key, "[")
    end = len(data)
    while (at := sz.rfind(data, key, 0, end) if plain else data.rfind(key, 0, end)) >= 0:
        end = at + len(key) - 1
        found = pattern.match(data, data.rfind(bracket, 0, at + 1))
        if found and int(found[1]) == pid:
            row = found.groups()
            return (*row[:-1], row[-1].decode()) if plain else row  # int() reads bytes
    return None


def _largest(rows: list[tuple[Any, Any]], plain: bool) -> list[tuple[int, int]]:
    """The ``TOP_USERS`` largest RSS of the (pid, RSS) rows, a pid's last row counting, in
    the order a stable sort of the pids by RSS gives (equal RSS: the pid first printed)."""
    if not rows:
        return []
    pids, sizes = zip(*rows, strict=True)
    sizes = list(map(int, sizes))
    if plain and min(pids)[:1] != b"0" and len(set(pids)) == len(pids):  # one row a pid
        order = sorted(range(len(sizes)), key=sizes.__getitem__, reverse=True)[:TOP_USERS]
        return [(int(pids[at]), sizes[at]) for at in order]
    table = dict(zip(map(int, pids), sizes, strict=True))
    return sorted(table.items(), key=itemgetter(1), reverse=True)[:TOP_USERS]


class Table:
    """The rows of one task table, in the order printed, and what a kill reads of them."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.parts: list[str] = []
        self.size = 0
        self.full = False
        self._read: tuple[int, str | bytes, bool, list[tuple[int, int]], dict[int, Any]] | None \
            = None

    def add(self, text: str) -> None:
        """One line or several (``\\n``-separated, no trailing one), kept while they fit."""
        if self.full:
            return
        room = MAX_TEXT - self.size
        if len(text) + 1 > room:  # whole lines only, and none after the first that misses
            self.full = True
            text = text[:max(text.rfind("\n", 0, room), 0)]
            if not text:
                return
        self.parts.append(text)
        self.size += len(text) + 1

    def _rows(self, victim: int | None) -> tuple[tuple[str, ...] | None, list[dict[str, Any]]]:
        """The victim's row and the largest RSS, read in two passes: every row's pid and
        RSS, then the whole rows of the few pids reported."""
        if self._read is None or self._read[0] != len(self.parts):
            text = "\n".join(self.parts)
            data = text.encode() if text.isascii() else b"\t"
            plain = sz.find_first_of(data, _OTHER_BLANKS) < 0
            text = data if plain else text
            rss_at = self._at("rss")
            rows = _sizes(rss_at, plain).findall(text)[:MAX_ROWS] if rss_at else []
            self._read = (len(self.parts), text, plain, _largest(rows, plain), {})
        _, text, plain, top, whole = self._read
        for pid in [pid for pid, _ in top] + ([victim] if victim is not None else []):
            if pid not in whole:
                whole[pid] = _row_of(text, pid, len(self.columns), plain)
        return (whole.get(victim) if victim is not None else None,
                [{"pid": pid, "process": whole[pid][-1].strip() if whole[pid] else "",
                  "rss_pages": rss} for pid, rss in top])

    def _at(self, column: str) -> int | None:
        """Which column after the pid holds ``column`` (1: the first); the last of two
        columns of one name wins, as it would in a dict."""
        names = self.columns[:-1]
        return len(names) - names[::-1].index(column) if column in names else None

    def victim(self, pid: int | None) -> tuple[dict[str, Any] | None, str | None,
                                               list[dict[str, Any]]]:
        """The row of ``pid`` (uid, pages, oom_score_adj), its name, and the largest RSS."""
        row, top = self._rows(pid)
        if row is None:
            return None, None, top

        def value(column: str) -> int | None:
            at = self._at(column)
            return None if at is None else int(row[at])
        return ({"uid": value("uid"), "total_vm_pages": value("total_vm"),
                 "rss_pages": value("rss"), "oom_score_adj": value("oom_score_adj")},
                row[-1].strip() or None, top)
