"""``oomaudit logs``: OOM kills found in kernel logs, as a text summary or JSON.

The JSON shape is documented by ``oomaudit/logs.schema.json`` (``schema_version`` 1);
it is written as the logs are read, so memory stays flat however many kills there are.
Exit codes: 0 no kill in the window, 1 kills found, 2 a named file could not be read,
no live source could be read, or a usage error.
"""
from __future__ import annotations

import re
from collections import Counter, deque
from datetime import datetime, timedelta, timezone
from typing import IO, NamedTuple

from . import __version__
from .errors import UsageError
from .host import terminal
from .logsources import LogScan
from .parsers.kernlog_event import OomEvent
from .units import format_size

SCHEMA_VERSION = 1
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Window(NamedTuple):
    """``--since``: a start time (None: everything) and how to say it."""

    start: datetime | None
    label: str


def parse_since(text: str, now: datetime | None = None) -> Window:
    """``30d``, ``12h``, ``2w``, ``90m``, an ISO date or time, or ``all``."""
    now = now or datetime.now(timezone.utc)
    value = text.strip()
    if value.lower() in ("all", "0", "ever"):
        return Window(None, "in all logs read")
    span = _SPAN.match(value)
    if span:
        amount, unit = int(span.group(1)), span.group(2).lower()
        names = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        start = now - timedelta(seconds=amount * _SECONDS[unit])
        return Window(start, f"in the last {amount} {names[unit]}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since {text}: expected e.g. 30d, 12h, 2w, 2026-02-01 or all") \
            from None
    when = when if when.tzinfo else when.astimezone()
    return Window(when, f"since {value}")


def kb(value: int | None) -> str:
    return "?" if value is None else format_size(value * 1024)


class Kills:
    """Every kill read, aggregated as it comes, in memory bounded whatever their number:
    the count, one row per process name (at most ``MAX_GROUPS``; later names are counted
    as "(other processes)", each row with its first ``MAX_MEMCGS`` cgroups) and the latest
    ``sample`` events, which the text view lists (JSON writes each event as it comes)."""

    MAX_GROUPS = 1000
    MAX_MEMCGS = 16
    OTHERS = "(other processes)"

    def __init__(self, sample: int = 100):
        self.count = 0
        self.rows: dict[str, dict] = {}
        self.latest: deque[OomEvent] = deque(maxlen=sample)

    def add(self, event: OomEvent) -> None:
        self.count += 1
        self.latest.append(event)
        name = event.process or f"pid {event.pid}"
        row = self.rows.get(name)
        if row is None:
            if len(self.rows) >= self.MAX_GROUPS:
                name = self.OTHERS
                row = self.rows.get(name)
            if row is None:
                row = self.rows[name] = {"process": name, "count": 0, "dated": None,
                                         "printed": None, "max_anon_rss_kb": None,
                                         "memcgs": Counter(), "memcg_kills": 0}
        row["count"] += 1
        if event.time and (row["dated"] is None or event.time > row["dated"][0]):
            row["dated"] = (event.time, event.timestamp)
        row["printed"] = event.timestamp
        if event.anon_rss_kb is not None:
            row["max_anon_rss_kb"] = max(row["max_anon_rss_kb"] or 0, event.anon_rss_kb)
        memcgs = row["memcgs"]
        if event.memcg and (event.memcg in memcgs or len(memcgs) < self.MAX_MEMCGS):
            memcgs[event.memcg] += 1
        row["memcg_kills"] += event.scope == "memcg"

    def groups(self) -> list[dict]:
        """Kills per process name, most frequent first: count, last seen (the latest dated
        kill, else the last one read), largest anon-rss, and the victims' memory cgroups."""
        out = []
        for row in self.rows.values():
            when, printed = row["dated"] or (None, row["printed"])
            out.append({"process": row["process"], "count": row["count"],
                        "last_seen": when.isoformat() if when else None,
                        "last_seen_printed": printed,
                        "max_anon_rss_kb": row["max_anon_rss_kb"],
                        "memcgs": [m for m, _ in row["memcgs"].most_common()],
                        "memcg_kills": row["memcg_kills"]})
        out.sort(key=lambda r: (-r["count"], r["process"]))
        return out

    def summary_line(self, window: Window) -> str:
        if not self.count:
            return f"no OOM kills {window.label}"
        parts = []
        for row in self.groups():
            text = f"{row['process']} ×{row['count']}"
            if row["max_anon_rss_kb"]:
                text += f" (anon-rss {kb(row['max_anon_rss_kb'])})"
            if row["memcgs"]:
                text += f" in {row['memcgs'][0]}"
            parts.append(text)
        plural = "kill" if self.count == 1 else "kills"
        return f"{self.count} OOM {plural} {window.label}: " + ", ".join(parts)


def _when(event: OomEvent) -> str:
    if event.time:
        return event.time.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    if event.timestamp is not None:
        return f"{event.timestamp} (time unknown)"
    return "time not printed"


def event_text(event: OomEvent) -> list[str]:
    who = f"{event.process or '?'} (pid {event.pid}" + \
        (f", uid {event.uid}" if event.uid is not None else "") + ")"
    sizes = ", ".join(f"{name} {kb(value)}" for name, value in (
        ("anon-rss", event.anon_rss_kb), ("file-rss", event.file_rss_kb),
        ("shmem-rss", event.shmem_rss_kb), ("total-vm", event.total_vm_kb))
        if value is not None)
    lines = [f"{_when(event)}  killed {who}" + (f": {sizes}" if sizes else "")
             + (" [line cut off]" if event.partial else "")]
    kind = {"memcg": "memory-cgroup OOM", "global": "system-wide OOM"}.get(event.scope or "",
                                                                          "OOM")
    detail = [kind + (f" ({event.constraint})" if event.constraint else "")]
    if event.invoked_by:
        detail.append(f"invoked by {event.invoked_by}"
                      + (f" (order={event.order}, gfp_mask={event.gfp_mask})"
                         if event.gfp_mask else ""))
    if event.via:
        detail.append(f"via {event.via}" + (" (a manual SysRq-f kill, not memory exhaustion)"
                                            if event.via == "sysrq" else ""))
    if event.oom_score_adj is not None:
        detail.append(f"oom_score_adj {event.oom_score_adj}")
    lines.append("    " + "; ".join(detail))
    if event.memcg or event.oom_memcg:
        text = f"cgroup {event.memcg or '?'}"
        if event.oom_memcg and event.oom_memcg != event.memcg:
            text += f", limit hit in {event.oom_memcg}"
        if event.memcg_limit_kb is not None:
            text += (f": limit {kb(event.memcg_limit_kb)}, usage {kb(event.memcg_usage_kb)}"
                     f", failcnt {event.memcg_failcnt}")
        lines.append("    " + text)
    if event.selected:
        sel = event.selected
        lines.append(f"    selected {sel['process']} (pid {sel['pid']}, score {sel['score']}); "
                     "its child was killed instead")
    if event.top:
        top = ", ".join(f"{t['process']} {kb((t['rss_pages'] or 0) * 4)}" for t in event.top)
        lines.append(f"    largest in the task table (rss x 4 KiB pages): {top}")
    if event.swap_total_kb is not None:
        lines.append(f"    swap free {kb(event.swap_free_kb)} of {kb(event.swap_total_kb)}")
    reaper = {True: "memory reaped", False: "oom_reaper could not reap it"}.get(event.reaped)
    where = f"{event.source}:{event.line}" if event.line else event.source
    lines.append(f"    at {where}" + (f"; {reaper}" if reaper else ""))
    return lines


def render_text(kills: Kills, scan: LogScan, window: Window) -> str:
    out = [kills.summary_line(window)]
    if scan.undated:
        out.append(f"  ({scan.undated} of them without an absolute time: kept, as --since "
                   "cannot apply to them)")
    if scan.older:
        out.append(f"  ({scan.older} older kill(s) outside the window not shown: "
                   "--since all shows them)")
    if kills.count > len(kills.latest):
        out.append(f"  (the latest {len(kills.latest)} listed; the summary counts every "
                   "one, --format json lists every one)")
    for event in kills.latest:
        out.append("")
        out.extend(event_text(event))
    if scan.panics:
        out.append("")
        out.extend(f"OOM panic: {m} (at {src}:{line})" for m, src, line in scan.panics)
        if scan.panic_count > len(scan.panics):
            out.append(f"({scan.panic_count - len(scan.panics)} more OOM panics not listed)")
    out.append("")
    out.append("sources: " + "; ".join(str(t) for t in scan.tried))
    return "\n".join(map(terminal, out)) + "\n"  # names from a log or a file name


class JsonWriter:
    """``--format json`` written as the kills are read: the head, each event on a line of
    its own as it comes (a consumer of a pipe sees it at once; memory does not grow with the
    kills), then the panics, the sources and the summary, which need the whole read."""

    def __init__(self, out: IO[str], window: Window):
        from .jsonout import encode  # not for the text view

        self.out = out
        self.window = window
        self.kills = Kills(sample=0)
        self.encode = encode
        head = {"schema_version": SCHEMA_VERSION,
                "tool": {"name": "oomaudit", "version": __version__},
                "since": window.start.isoformat() if window.start else None}
        out.write(encode(head)[:-2] + ',\n  "events": [')

    def add(self, event: OomEvent) -> None:
        self.out.write(("\n    " if not self.kills.count else ",\n    ")
                       + self.encode(event.to_json(), indent=None))
        self.out.flush()
        self.kills.add(event)

    def close(self, scan: LogScan) -> None:
        kills = self.kills
        tail = {
            "panics": [{"message": m, "source": s, "line": n} for m, s, n in scan.panics],
            "sources": [{"label": t.label, "status": t.status, "detail": t.detail}
                        for t in scan.tried],
            "summary": {"kills": kills.count, "undated": scan.undated, "older": scan.older,
                        "panics": scan.panic_count, "text": kills.summary_line(self.window),
                        "by_process": kills.groups()},
        }
        body = self.encode(tail)
        self.out.write(("\n  ]," if kills.count else "],") + body[1:] + "\n")
