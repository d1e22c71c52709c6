"""The OOM kills a host's kernel logs hold, read once per host and kept in its cache.

Where they come from depends on the mode (see the package's docstring): the kernlog files
given in a config repository, a tree's ``var/log``, or the live host's sources
(oomaudit.logsources), from a ``--since`` window or where the previous run stopped
(``--since last``, oomaudit.logcursor), aggregated as they are read (``kills``). They
are also tabulated by process for the reporters that count them (Prometheus, a fleet's
ranking).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from oomaudit.host import FILES, ROOT, Table
from oomaudit.livelog import live_streams
from oomaudit.logsources import LogScan, Tried, file_stream, log_files, read_events
from oomaudit.model import MissingFact
from oomaudit.parsers.kernlog import parse_lines, split_lines
from oomaudit.parsers.kernlog_event import OomEvent
from oomaudit.reading import Source

from .constants import KERNLOG
from .kills import HostKills

CACHE = "klog.events"
TABLE = "oom_kills"  # read by the Prometheus reporter, oomaudit facts and the fleet
WINDOW = timedelta(days=30)
SNIFF = re.compile(r"Killed process \d|invoked oom-killer: |oom-kill:constraint=")


def parse_source(source: Source) -> list[OomEvent]:
    return list(parse_lines(split_lines(source.text), source.display))


def looks_like_kernlog(head: str) -> bool:
    """An OOM-killer line, whatever the file is called."""
    return SNIFF.search(head) is not None


def events_of(host) -> HostKills:
    """The host's OOM kills in the window (``scan --since``: ``klog.window`` in the host's
    cache; 30 days otherwise), or after the saved position (``--since last``: the cursor
    in ``klog.cursor``), read once per host and aggregated as they are read.

    Each source that could not be read is a CONF003 naming it; when none could be read
    and one was there (an unprivileged scan: the journal, ``/dev/kmsg`` and ``kern.log``
    all need a group or a capability), MissingFact: the rules are skipped, not passed."""
    if CACHE in host.cache:
        if isinstance(host.cache[CACHE], MissingFact):
            raise host.cache[CACHE]
        return host.cache[CACHE]
    window = host.cache.get("klog.window")
    since = window.start if window else datetime.now(timezone.utc) - WINDOW
    cursor = host.cache.get("klog.cursor")
    kills = HostKills()
    if host.mode == FILES:
        for event in (e for doc in host.documents(KERNLOG) for e in doc):
            if event.time is None or since is None or event.time >= since:
                kills.add(event)
    elif cursor is not None:
        from oomaudit.logcursor import since_last

        _kept(host, since_last(cursor, since, log_dir=host.resolve("/var/log"),
                               live=host.live, display=host.display, fs=host.fs,
                               sink=kills.add))
    else:
        if host.mode == ROOT:
            folder = host.resolve("/var/log")
            streams = [file_stream(p, host.display(p), host.fs)
                       for p in log_files(folder, host.fs)] if folder is not None else []
            tried: list[Tried] = []
        else:
            streams, tried = live_streams(since)
        _kept(host, read_events(streams, since, tried, kills.add))
    host.cache[CACHE] = kills
    _tabulate(host, kills)
    return kills


def read_ahead(host) -> None:
    """Read the kernel log of a live host or a tree before its rules run (the budget hook,
    when a KLOG rule will): the CONF rules, which report the sources that could not be
    read, run first."""
    try:
        events_of(host)
    except MissingFact:  # kept in the cache: the rules are skipped with it
        pass


def _kept(host, scan: LogScan) -> None:
    """Name each source that could not be read (CONF003); when nothing could be read,
    MissingFact (kept in the cache, so both rules skip)."""
    for problem in scan.errors:
        host.note_unreadable(problem.label, problem.detail)
    if scan.errors and not any(t.status == "read" for t in scan.tried):
        unread = MissingFact("the kernel log", "no source of it could be read ("
                             + "; ".join(str(t) for t in scan.errors) + ")")
        host.cache[CACHE] = unread
        raise unread


def _tabulate(host, kills: HostKills) -> None:
    """The window's kills by victim process as a report table: what Prometheus'
    oomaudit_oom_kills and a fleet's ranking read, instead of parsing KLOG001's message."""
    rows = [[process, victim.count, victim.last.time.astimezone(timezone.utc).isoformat(
                timespec="seconds") if victim.last.time else "undated"]
            for process, victim in kills.victims.items()]
    if rows:
        host.tables[TABLE] = Table("OOM kills by process",
                                   ["process", "kills", "last kill"], rows)


def span(host) -> str:
    """The window the kills were counted in, as KLOG001 says it."""
    cursor, window = host.cache.get("klog.cursor"), host.cache.get("klog.window")
    if cursor is not None and not cursor.fresh:
        return "since the previous scan"
    if window is None or cursor is not None:
        return f"in {WINDOW.days} days"
    return window.label
