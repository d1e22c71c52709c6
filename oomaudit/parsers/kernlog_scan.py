"""The fast path through a kernel log: find the few lines an OOM report touches, and feed
only those to the record parser (:class:`oomaudit.parsers.kernlog.KernlogParser`).

Logs are large and OOM reports rare, so :func:`scan` looks for two literal anchors in the
bytes and decodes only the lines that carry one. Inside a report it looks for the parser's
markers (the few lines a report is read from: header, memory state, summary, kill) and
hands the lines between over at once: a dense log (10,000 reports in 256 MiB) took 2 ms a
report when each of its ~180 lines went through the state machine. Memory stays constant:
one chunk, one report. The searches and the line count use stringzilla (SIMD find and
count, ~15-30 GiB/s): one process reads a log about as fast as grep (bench/bench_logs.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import stringzilla as sz

from . import kernlog
from .kernlog import KernlogParser
from .kernlog_event import OomEvent

ANCHORS = (b"oom-kill", b"Killed process")  # "oom-kill" also matches "invoked oom-killer"
MARKERS = tuple(m.encode() for m in kernlog.MARKERS)
CHUNK = 1 << 22
MAX_LINE = 1 << 20  # printk records are < 1 KiB (LOG_LINE_MAX); a longer line is no record


def scan(stream: IO[bytes], parser: KernlogParser, lines_before: int = 0) -> Iterator[OomEvent]:
    """Stream a binary log through ``parser``, decoding only the lines that matter.

    Outside a report only lines holding an anchor are parsed, each with the line just
    before it when that one selects the victim ("Kill process ... or sacrifice child")
    and was not parsed yet. Inside a report only lines holding one of the parser's
    ``MARKERS`` are; the lines between two of them go to ``parser.skip`` at once (as text
    when they may be task-table rows). Line numbers count every line of the stream, after
    ``lines_before`` (a log opened where an earlier read stopped). The last line of each
    chunk is kept as context for the next.

    One buffer serves the whole stream (``readinto``): a new 4 MiB object per chunk cost
    more in page faults than every search together. ``buf[:keep]`` is the kept line,
    ``buf[keep:filled]`` what is not processed yet.
    """
    buf = bytearray(CHUNK + 2 * MAX_LINE)
    view = memoryview(buf)
    keep = filled = 0
    lineno = lines_before
    keep_fed = False
    read = getattr(stream, "readinto1", None) or stream.readinto  # a pipe: what has come
    while True:
        got = read(view[filled:filled + CHUNK])
        filled += got
        pos = keep
        if got:
            end = buf.rfind(b"\n", pos, filled) + 1
            if end <= pos:  # no line end yet: read on; a line over MAX_LINE is no record
                if filled - pos >= MAX_LINE:
                    filled = pos
                continue
        else:
            end = filled
        fed_until = pos if keep_fed else 0
        nexts: dict[bytes, int] = {}  # next hit of each marker in this buffer
        while pos < end:
            if parser.selection_candidate is not None:  # the very next line decides
                stop = _line_end(buf, pos, end)
                lineno += 1
                yield from parser.feed(buf[pos:stop].decode("utf-8", "replace"), lineno)
                pos = fed_until = stop
                continue
            inside = parser.report is not None
            hit = _next(buf, pos, end, MARKERS if inside else ANCHORS, nexts)
            start = end if hit < 0 else buf.rfind(b"\n", pos, hit) + 1 or pos
            if inside and start > pos:  # lines without a marker, at once
                ends = buf[start - 1] == 10  # else the stream's last line, unfinished
                count = sz.count(buf, b"\n", pos, start) + (not ends)
                text = _rows_text(buf, pos, start, count, parser.room) \
                    if parser.wants_rows else None
                lineno += count
                yield from parser.skip(count, text)
                pos = start
                continue  # the report may have ended: look for the anchors only
            if hit < 0:
                lineno += sz.count(buf, b"\n", pos, end)
                pos = end
                break
            lineno += sz.count(buf, b"\n", pos, start)
            stop = _line_end(buf, hit, end)
            if not inside and start > 0 and buf.startswith(b"Killed process", hit):
                before = buf.rfind(b"\n", 0, start - 1) + 1
                if before >= fed_until and b"ill process" in buf[before:start]:
                    yield from parser.feed(buf[before:start].decode("utf-8", "replace"), lineno)
            lineno += 1
            yield from parser.feed(buf[start:stop].decode("utf-8", "replace"), lineno)
            pos = fed_until = stop
        if not got:
            break
        last = buf.rfind(b"\n", 0, end - 1) + 1
        if end - last > MAX_LINE:  # too long to be the record before a kill
            last = end
        if filled - end > MAX_LINE:  # an unfinished line that long is no record either
            filled = end
        keep, keep_fed = end - last, fed_until >= end
        buf[:filled - last] = buf[last:filled]
        filled -= last
    yield from parser.close()


def _rows_text(buf, pos: int, start: int, count: int, room: int) -> str:
    """The lines of ``buf[pos:start]`` that the report takes (its ``room``; a report that
    ends in a run of noise does not decode the megabytes after it), without the last
    newline."""
    stop = start
    if room < count:
        stop = pos
        for _ in range(room):
            stop = buf.find(b"\n", stop, start) + 1
    if stop > pos and buf[stop - 1] == 10:
        stop -= 1
    return buf[pos:stop].decode("utf-8", "replace")


def _line_end(buf, pos: int, end: int) -> int:
    stop = buf.find(b"\n", pos, end)
    return end if stop < 0 else stop + 1


def _next(buf, pos: int, end: int, markers: tuple[bytes, ...], nexts: dict[bytes, int]) -> int:
    """The first of ``markers`` at or after ``pos``; each marker's next hit is remembered,
    so every byte is searched once per marker however the hits interleave."""
    best = -1
    for marker in markers:
        found = nexts.get(marker, -1)
        if found < pos and found != end:
            found = sz.find(buf, marker, pos, end)
            found = nexts[marker] = end if found < 0 else found
        if found != end and (best < 0 or found < best):
            best = found
    return best
