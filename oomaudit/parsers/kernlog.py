"""OOM-killer reports in kernel logs: lines in, one :class:`OomEvent` per killed process out.

The kernel prints an OOM invocation as a report of many records (header, stack,
memory state, task table, summary, kill, reaper). This module reads them with the
printk formats of 2.6 to 6.x (:mod:`oomaudit.parsers.kernlog_printk`) and turns a report
into one event per victim (:class:`~oomaudit.parsers.kernlog_event.OomEvent`), whatever
wraps the records (see :mod:`oomaudit.parsers.logframe`).

Conventions (those of ``../shared/oom-logs/expected.json``): one event per victim per
invocation; "Kill process X ... or sacrifice child" only *selects* X, the victim is
the pid on the following "Killed process" line; a header belongs to the first kill
after it (a header after a kill starts the next report); ``oom_reaper`` lines, "OOM
victim ... is already exiting", and "Kernel panic ... no killable processes" are not
kills (a panic is counted apart); kB values as printed, digit separators ignored; the task
table is the rows printed before the report's first kill (the kernel prints it before).

``kernlog_scan.scan`` feeds only the lines that matter; ``parse_lines``, the reference, all.

The module is over 300 lines because it is one concern, one state machine: what a line
means depends on the report it falls in (a selection before its kill, a header before or
after one, a task table read by the columns its header printed), so the states and the
lines that move between them are read together.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from ..record import Record
from .kernlog_event import OomEvent
from .kernlog_printk import (
    COMM,
    GFP,
    GROUP,
    KB,
    MEMCG_USAGE,
    ORDER,
    PANIC,
    REAPED,
    SELECT,
    SUMMARY,
    SUMMARY_SPLIT,
    SWAP,
    TABLE_HEAD,
    TABLE_ROW,
    TASK_IN,
    TRIGGER_ADJ,
    UID,
    UNREAPED,
    VICTIM_ADJ,
    header,
    kills,
)
from .kernlog_table import Table
from .logframe import NO_STAMP, Stamp, journal_message, journal_record, parse_stamp

TAIL_LINES = 50  # after a kill, watch this many lines for the reaper and group kills
MAX_REPORT_LINES = 20_000  # a header without a kill stops pinning line-by-line parsing
MAX_PANICS = 100  # panic lines kept (all are counted): bounded memory on any input
# What a line must hold to mean anything to ``_line`` (besides a task-table row): a fast
# scanner feeds only lines holding one of these and hands the lines between over at once
# (``skip``). "oom-kill" covers "invoked oom-killer" and "oom-kill:".
MARKERS = ("Killed process", "oom-kill", "ill process", "oom_reaper", "tgid", "memory: usage",
           "Task in ", "memory.oom.group", " swap", "Kernel panic")


def _kb(text: str | None) -> int | None:
    """A printed kB figure; posters' digit separators (``26,184,840``) are dropped."""
    if text is None:
        return None
    digits = text.replace(",", "")
    return int(digits) if digits.isdigit() else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class _Report(Record):
    """What one OOM invocation has printed so far, before (and just after) its kill."""

    def __init__(self):
        self.invoked_by: str | None = None
        self.gfp_mask: str | None = None
        self.order: int | None = None
        self.trigger_adj: int | None = None
        self.constraint: str | None = None
        self.memcg: str | None = None
        self.oom_memcg: str | None = None
        self.cpuset_summary: dict[str, str] | None = None
        self.summary_line: int = 0
        self.summary_stamp: Stamp | str = NO_STAMP  # the text before it until needed
        self.usage: tuple[int, int, int] | None = None
        self.swap: dict[str, int] = {}
        self.table: Table | None = None  # from the task table's header on
        self.selected: tuple[int, str, int, str] | None = None  # pid, comm, score, message
        self.group: str | None = None
        self.killed: list[OomEvent] = []
        self.header_used: bool = False
        self.lines: int = 0


class KernlogParser:
    """A line-at-a-time state machine over one log. ``feed`` returns the events that are
    complete; ``close`` the rest. A fast scanner feeds only lines holding one of
    ``MARKERS`` and hands the others over with ``skip`` (``wants_rows``, ``room``)."""

    def __init__(self, source: str = "", reference: datetime | None = None,
                 boot_time: float | None = None):
        self.source = source
        self.reference = reference
        self.boot_time = boot_time
        self.report: _Report | None = None
        self.tail = 0
        self.selection_candidate: tuple[str, int] | None = None
        self.panics: list[tuple[str, Stamp, int]] = []  # the first MAX_PANICS
        self.panic_count = 0

    def feed(self, raw: str, lineno: int) -> list[OomEvent]:
        line = raw.rstrip("\r\n").replace("\r", "")
        journal = None
        if line.startswith("{") and '"MESSAGE"' in line:
            journal = journal_record(line)
            if journal:
                line = journal[0]
        out: list[OomEvent] = []
        report = self.report
        if report is not None:
            report.lines += 1
            if report.killed:
                self.tail -= 1
                if self.tail <= 0 and "Killed process" not in line:
                    out.extend(self._finish())
            elif report.lines > MAX_REPORT_LINES:
                out.extend(self._finish())
        try:
            self._line(line, lineno, journal[1] if journal else None, out)
        except (ValueError, IndexError, OverflowError):  # a mangled record: skip it, go on
            pass
        return out

    def close(self) -> list[OomEvent]:
        return self._finish()

    @property
    def wants_rows(self) -> bool:
        """Inside a report whose task table started and no kill yet: lines between markers
        may be rows (after a kill they are not read, nor decoded: most of a dense log)."""
        report = self.report
        return report is not None and report.table is not None and not report.killed

    @property
    def room(self) -> int:
        """Lines the report takes before it ends (its tail after a kill, else its budget)."""
        report = self.report
        if report is None:
            return 0
        return max(self.tail, 1) - 1 if report.killed else max(MAX_REPORT_LINES - report.lines, 0)

    def skip(self, count: int, text: str | None = None) -> list[OomEvent]:
        """``count`` lines that hold no marker, at once: what ``feed`` does with each of
        them (count the report's lines, end it after its tail) without a call per line;
        ``text`` (their first ``room`` lines, at least) when ``wants_rows``."""
        self.selection_candidate = None
        report = self.report
        if report is None or count <= 0:
            return []
        inside = min(count, self.room)
        if report.killed:
            self.tail -= count
        report.lines += count
        if text is not None and self.wants_rows and inside:
            if inside < count:
                text = "\n".join(text.split("\n")[:inside])
            if '"MESSAGE"' in text:  # journal records: their messages are the lines
                text = "\n".join(map(journal_message, text.split("\n")))
            report.table.add(text.replace("\r", "") if "\r" in text else text)  # memchr
        return self._finish() if inside < count else []

    # -- one line ------------------------------------------------------------------------
    def _line(self, line: str, lineno: int, stamp: Stamp | None, out: list[OomEvent]) -> None:
        if "Killed process" in line:
            killed = False
            for match in kills(line):
                before = SELECT.search(line, 0, match.start()) \
                    if line.find("ill process", 0, match.start()) >= 0 else None
                if before:  # "...or sacrifice childJun  4 ... Killed process": a lost newline
                    self._select(before, line, lineno, out)
                self._kill(line, match, lineno, stamp, out)
                killed = True
            if not killed:  # a line between a selection and its kill: they are not one
                self.selection_candidate = None
            return
        if "invoked oom-killer" in line:
            out.extend(self._finish())
            self._header(line)
            return
        if "oom-kill:" in line:
            match = SUMMARY.search(line)
            if match:
                if self.report is None or self.report.killed:
                    out.extend(self._finish())
                    self.report = _Report()
                self._summary(match, line, lineno, stamp)
            return
        if "ill process" in line:
            match = SELECT.search(line)
            if match:
                self._select(match, line, lineno, out)
            else:
                self.selection_candidate = None
            return
        self.selection_candidate = None
        report = self.report
        if report is None:
            return
        if "oom_reaper" in line:
            self._reaper(line)
        elif "[" in line and self.wants_rows and TABLE_ROW.search(line):
            report.table.add(line)
        elif "tgid" in line:
            head = TABLE_HEAD.search(line)
            if head:
                report.table = Table(head["cols"].split())
        elif "memory: usage" in line:
            match = MEMCG_USAGE.search(line)
            if match and report.usage is None:
                report.usage = (int(match[1]), int(match[2]), int(match[3]))
        elif "Task in " in line:
            match = TASK_IN.search(line)
            if match:
                report.memcg, report.oom_memcg = match["memcg"], match["limit"]
        elif "memory.oom.group" in line:
            match = GROUP.search(line)
            if match:
                report.group = match["memcg"]
                self.tail = TAIL_LINES
        elif " swap" in line:
            match = SWAP.search(line)
            if match:
                report.swap[match[1].lower()] = int(match[2])
        elif "Kernel panic" in line:
            match = PANIC.search(line)
            if match:
                self.panic_count += 1
                if len(self.panics) < MAX_PANICS:
                    self.panics.append((match[0], self._stamp(line, match.start(), None),
                                        lineno))

    def _select(self, match: re.Match, line: str, lineno: int, out: list[OomEvent]) -> None:
        """A selection line. Outside a report it only counts when its Killed line follows
        at once (a grep excerpt); a selection after a kill starts the next report (the
        header of consecutive kills is rate-limited away)."""
        if self.report is None:
            self.selection_candidate = (line, lineno)
            return
        if self.report.killed and self.report.group is None:
            out.extend(self._finish())
            self.report = _Report()
        self.report.selected = _selection(match)

    def _stamp(self, line: str, start: int, stamp: Stamp | None) -> Stamp:
        if stamp is not None:
            return stamp
        return parse_stamp(line[:start], self.reference, self.boot_time)

    def _header(self, line: str) -> None:
        match = header(line)
        report = self.report = _Report()
        if not match:
            return
        comm = match["comm"]
        # a prefix such as "kernel: " or "[ 12.3] " is not part of the comm
        comm = re.split(r"(?:\]|kernel:|\s-\s|>)\s+", comm)[-1].strip()
        report.invoked_by = comm
        args = match["args"]
        gfp, order, adj = GFP.search(args), ORDER.search(args), TRIGGER_ADJ.search(args)
        report.gfp_mask = gfp[1] if gfp else None
        report.order = int(order[1]) if order else None
        report.trigger_adj = int(adj[1]) if adj else None

    def _summary(self, match: re.Match, line: str, lineno: int, stamp: Stamp | None) -> None:
        report = self.report
        fields: dict[str, str] = {}
        for part in SUMMARY_SPLIT.split(match["fields"]):
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()
        report.cpuset_summary = fields
        report.constraint = fields.get("constraint") or None
        if "task_memcg" in fields:
            report.memcg = fields["task_memcg"] or None
        if "oom_memcg" in fields:
            report.oom_memcg = fields["oom_memcg"] or None
        report.summary_line = lineno
        # dated only for a summary without its kill: the kill's own line dates it otherwise
        report.summary_stamp = stamp if stamp is not None else line[:match.start()]

    def _reaper(self, line: str) -> None:
        done, failed = REAPED.search(line), UNREAPED.search(line)
        match = done or failed
        if match and self.report:
            for event in self.report.killed:
                if event.pid == int(match[1]):
                    event.reaped = bool(done)

    # -- the kill ------------------------------------------------------------------------
    def _kill(self, line: str, match: re.Match, lineno: int, stamp: Stamp | None,
              out: list[OomEvent]) -> None:
        pid = int(match["pid"])
        candidate, self.selection_candidate = self.selection_candidate, None
        report = self.report
        if report is not None and report.killed:
            if any(e.pid == pid for e in report.killed):  # oom.group prints the victim twice
                return
            if report.group is None:  # a second kill without its own header: a new report
                out.extend(self._finish())
                report = None
        if report is None:
            report = self.report = _Report()
            selected = SELECT.search(candidate[0]) if candidate else None
            if selected:
                report.selected = _selection(selected)
        event = self._event(report, line, match, lineno, stamp)
        report.killed.append(event)
        self.tail = TAIL_LINES

    def _event(self, report: _Report, line: str, match: re.Match, lineno: int,
               stamp: Stamp | None) -> OomEvent:
        rest = match["rest"]
        event = OomEvent(pid=int(match["pid"]), source=self.source, line=lineno)
        comm = COMM.match(rest)
        if comm:
            event.process = comm["comm"]
            fields = rest[comm.end():]
        else:
            fields = rest
            event.partial = True
        uid = (comm["uid"] if comm and comm["uid"] else None) or _first(UID, fields)
        event.uid = _int(uid)
        sizes: dict[str, str] = {}
        for key, value in KB.findall(fields):  # one pass; the first of each counts
            sizes.setdefault(key, value)
        event.total_vm_kb = _kb(sizes.get("total-vm") or sizes.get("vsz"))
        event.anon_rss_kb = _kb(sizes.get("anon-rss"))
        event.file_rss_kb = _kb(sizes.get("file-rss"))
        event.shmem_rss_kb = _kb(sizes.get("shmem-rss"))
        event.pgtables_kb = _kb(sizes.get("pgtables"))
        event.oom_score_adj = _int(_first(VICTIM_ADJ, fields))
        tail = fields.rstrip()
        if tail and not (tail[-1].isdigit() or tail.endswith(("kB", ".", ")"))):
            event.partial = True
        found = self._stamp(line, match.start(), stamp)
        event.timestamp, event.uptime_s, event.time = found.printed, found.uptime, found.absolute
        self._context(report, event, match["msg"])
        return event

    def _context(self, report: _Report, event: OomEvent, message: str | None) -> None:
        """What the rest of the report says about this victim."""
        member = bool(report.killed) and report.group is not None
        if not report.header_used:
            report.header_used = True
            event.invoked_by, event.gfp_mask = report.invoked_by, report.gfp_mask
            event.order, event.trigger_oom_score_adj = report.order, report.trigger_adj
        event.constraint, event.memcg, event.oom_memcg = (
            report.constraint, report.memcg, report.oom_memcg)
        if member and event.memcg is None:
            event.memcg = report.group
        if report.usage:
            event.memcg_usage_kb, event.memcg_limit_kb, event.memcg_failcnt = report.usage
        event.swap_free_kb = report.swap.get("free")
        event.swap_total_kb = report.swap.get("total")
        selected = report.selected
        if selected and not member:
            if selected[0] != event.pid:
                event.selected = {"pid": selected[0], "process": selected[1],
                                  "score": selected[2]}
            event.score = selected[2]
        message = message or (selected[3] if selected else None)
        if message and message.startswith("Memory cgroup") or event.constraint == \
                "CONSTRAINT_MEMCG":
            event.scope = "memcg"
        elif message or (report.cpuset_summary and "global_oom" in report.cpuset_summary):
            event.scope = "global"
        if member:
            event.via = "oom.group"
        elif message and "oom_kill_allocating_task" in message:
            event.via = "oom_kill_allocating_task"
        elif event.order == -1:
            event.via = "sysrq"
        if report.table is not None:
            event.table, name, event.top = report.table.victim(event.pid)
            if event.process is None and name:
                event.process = name

    def _finish(self) -> list[OomEvent]:
        """Close the current report: its kills, or the summary line alone when the excerpt
        holds no Killed line for it (the summary names the victim, without RSS figures)."""
        report, self.report, self.tail = self.report, None, 0
        if report is None:
            return []
        if report.killed:
            return report.killed
        fields = report.cpuset_summary
        if fields and _int(fields.get("pid")) is not None:
            stamp = report.summary_stamp
            if isinstance(stamp, str):
                stamp = parse_stamp(stamp, self.reference, self.boot_time)
            event = OomEvent(pid=_int(fields.get("pid")), process=fields.get("task") or None,
                             uid=_int(fields.get("uid")), source=self.source,
                             line=report.summary_line, timestamp=stamp.printed,
                             uptime_s=stamp.uptime, time=stamp.absolute)
            self._context(report, event, None)
            return [event]
        return []


def _selection(match: re.Match) -> tuple[int, str, int, str]:
    return int(match["pid"]), match["comm"], int(match["score"]), match["msg"]


def _first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return match[1] if match else None


def split_lines(text: str) -> list[str]:
    """Lines as the kernel and :func:`~oomaudit.parsers.kernlog_scan.scan` count them:
    split at ``\\n`` only (a stray ``\\r`` or form feed inside a record does not start a
    new line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_lines(lines: Iterable[str], source: str = "", reference: datetime | None = None,
                boot_time: float | None = None) -> Iterator[OomEvent]:
    """Every line through the state machine: the reference behaviour of
    :func:`~oomaudit.parsers.kernlog_scan.scan`."""
    parser = KernlogParser(source, reference, boot_time)
    for number, line in enumerate(lines, 1):
        yield from parser.feed(line, number)
    yield from parser.close()
