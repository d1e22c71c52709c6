"""The fast path through a kernel log: find the few lines an OOM report touches, and feed
only those to the record parser (:class:`oomaudit.parsers.kernlog.KernlogParser`).

Logs are large and OOM reports rare, so :func:`scan` looks for two literal anchors in the
bytes and decodes only the lines that carry one, plus every line of a report while inside
one. Memory stays constant: one chunk, one report. The searches and the line count use
stringzilla (SIMD find and count, ~15-30 GiB/s): with bytes.find and bytes.count, three
passes at ~3 GiB/s each, a 1 GiB log took two processes and twice grep's time; now one
process beats grep (bench/bench_logs.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import stringzilla as sz

from .kernlog import KernlogParser
from .kernlog_event import OomEvent

ANCHORS = (b"oom-kill", b"Killed process")  # "oom-kill" also matches "invoked oom-killer"
CHUNK = 1 << 22
MAX_LINE = 1 << 20  # printk records are < 1 KiB (LOG_LINE_MAX); a longer line is no record


def scan(stream: IO[bytes], parser: KernlogParser, lines_before: int = 0) -> Iterator[OomEvent]:
    """Stream a binary log through ``parser``, decoding only the lines that matter.

    Outside a report only lines holding an anchor are parsed, each with the line just
    before it when that one selects the victim ("Kill process ... or sacrifice child")
    and was not parsed yet; inside a report every line is. Line numbers count every
    line of the stream, after ``lines_before`` (a log opened where an earlier read stopped).
    The last line of each chunk is kept as context for the next.

    One buffer serves the whole stream (``readinto``): a new 4 MiB object per chunk cost
    more in page faults than every search together. ``buf[:keep]`` is the kept line,
    ``buf[keep:filled]`` what is not processed yet.
    """
    buf = bytearray(CHUNK + 2 * MAX_LINE)
    view = memoryview(buf)
    keep = filled = 0
    lineno = lines_before
    keep_fed = False
    while True:
        got = stream.readinto(view[filled:filled + CHUNK])
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
        nexts = [-1] * len(ANCHORS)  # next hit of each anchor in this buffer
        while pos < end:
            if parser.wants_all:
                stop = buf.find(b"\n", pos, end)
                stop = end if stop < 0 else stop + 1
                lineno += 1
                yield from parser.feed(buf[pos:stop].decode("utf-8", "replace"), lineno)
                pos = fed_until = stop
                continue
            hit = _next_anchor(buf, pos, end, nexts)
            if hit < 0:
                lineno += sz.count(buf, b"\n", pos, end)
                pos = end
                break
            start = buf.rfind(b"\n", pos, hit) + 1 or pos
            lineno += sz.count(buf, b"\n", pos, start)
            stop = buf.find(b"\n", hit, end)
            stop = end if stop < 0 else stop + 1
            if start > 0 and buf.startswith(b"Killed process", hit):
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


def _next_anchor(buf, pos: int, end: int, nexts: list[int]) -> int:
    """The first anchor at or after ``pos``; each anchor's next hit is remembered, so every
    byte is searched once per anchor however the hits of the anchors interleave."""
    best = -1
    for i, anchor in enumerate(ANCHORS):
        if nexts[i] < pos and nexts[i] != end:
            found = sz.find(buf, anchor, pos, end)
            nexts[i] = end if found < 0 else found
        if nexts[i] != end and (best < 0 or nexts[i] < best):
            best = nexts[i]
    return best
