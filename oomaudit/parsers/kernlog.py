"""OOM-killer reports in kernel logs: lines in, one :class:`OomEvent` per killed process out.

The kernel prints an OOM invocation as a report of many records (header, stack,
memory state, task table, summary, kill, reaper). This module follows the printk
formats of ``mm/oom_kill.c``, ``mm/memcontrol.c`` and ``mm/show_mem.c`` from 2.6 to 6.x
(cited by version at each pattern) and turns a report into one event per victim,
whatever wraps the records (see :mod:`oomaudit.parsers.logframe`).

Conventions (those of ``../shared/oom-logs/expected.json``): one event per victim per
invocation; "Kill process X ... or sacrifice child" only *selects* X, the victim is
the pid on the following "Killed process" line; a header belongs to the first kill
after it (a header after a kill starts the next report); ``oom_reaper`` lines, "OOM
victim ... is already exiting", and "Kernel panic ... no killable processes" are not
kills (a panic is counted apart); kB values as printed, digit separators ignored.

Speed: logs are large and OOM reports rare, so :func:`scan` looks for two literal
anchors with ``bytes.find`` (C speed) and decodes only the lines that carry one, plus
every line of a report while inside one. Memory stays constant: one chunk, one report.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

import stringzilla as sz

from ..record import Record
from .logframe import NO_STAMP, Stamp, journal_record, parse_stamp

# -- printk formats --------------------------------------------------------------------
# Header, dump_header() in mm/oom_kill.c:
#   2.6.2x  "%s invoked oom-killer: gfp_mask=0x%x, order=%d, oomkilladj=%d"
#           (torvalds/linux mm/oom_kill.c @01017a22)
#   2.6.32+ "... gfp_mask=0x%x, order=%d, oom_adj=%d, oom_score_adj=%d"
#   3.x     "... gfp_mask=0x%x, order=%d, oom_score_adj=%hd"
#   4.5+    "... gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd"
#   4.8-4.18 "... gfp_mask=%#x(%pGg), nodemask=%*pbl,  order=%d, oom_score_adj=%hd" (@c797bc88)
#   4.19+   back to "gfp_mask=%#x(%pGg), order=%d, oom_score_adj=%hd" (nodemask moved to
#           the oom-kill: summary); order=-1 means a SysRq-f kill (is_sysrq_oom()).
HEADER = re.compile(r"(?P<comm>\S(?:.{0,40}?\S)?) invoked oom-killer: (?P<args>.*)")
_GFP = re.compile(r"gfp_mask=(0x[0-9a-fA-F]+(?:\([^)]*\))?)")
_ORDER = re.compile(r"order=(-?\d+)")
_TRIGGER_ADJ = re.compile(r"(?:oom_score_adj|oomkilladj)=(-?\d+)")

# Selection, oom_kill_process():
#   2.6.2x  "Out of Memory: Kill process %d (%s) score %li and children."
#   2.6.3x  "%s: kill process %d (%s) score %li or a child"
#   2.6.36-4.x "%s: Kill process %d (%s) score %u or sacrifice child" (@c797bc88)
SELECT = re.compile(r"(?P<msg>(?:Out of [Mm]emory|Memory cgroup out of memory)[^:]{0,40}): "
                    r"[Kk]ill process (?P<pid>\d+) \((?P<comm>.{0,64}?)\) score (?P<score>-?\d+)")

# Kill, __oom_kill_task()/__oom_kill_process():
#   2.6.2x  "%s: Killed process %d (%s)."  (@01017a22)
#   <2.6.36 "Killed process %d (%s) vsz:%lukB, anon-rss:%lukB, file-rss:%lukB"
#   2.6.36+ "Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB"
#   4.5+    "..., shmem-rss:%lukB" (@c797bc88)
#   4.19+   "%s: Killed process ..." (message first: "Out of memory", "Memory cgroup out of
#           memory", "Out of memory (oom_kill_allocating_task)")
#   5.4+    "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB,
#            shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd"
#   backports: RHEL 6 "Killed process %d, UID %d, (%s) ...", RHEL 7 "Killed process %d
#   (%s), UID %u, total-vm:..."
KILLED = re.compile(r"(?:(?P<msg>Out of [Mm]emory(?: \(oom_kill_allocating_task\))?|Memory cgroup"
                    r" out of memory|No available memory[^:]{0,20}): )?Killed process (?P<pid>\d+)"
                    r"(?P<rest>(?:(?!Killed process).)*)")
_COMM = re.compile(r",?\s*(?:UID:?\s*(?P<uid>\d+),?\s*)?\((?P<comm>.{0,64}?)\)(?=[\s,.]|$)")
_KB = {key: re.compile(key + r":(\d[\d,]*)kB") for key in
       ("total-vm", "vsz", "anon-rss", "file-rss", "shmem-rss", "pgtables")}
_UID = re.compile(r"\bUID[: ]\s*(\d+)")
_VICTIM_ADJ = re.compile(r"oom_score_adj:(-?\d+)")

# Summary, dump_oom_summary() 4.19+: "oom-kill:constraint=%s,nodemask=%*pbl" then
# cpuset_print_current_mems_allowed() ",cpuset=%s,mems_allowed=%*pbl" and
# mem_cgroup_print_oom_context() ",oom_memcg=%s,task_memcg=%s" or ",global_oom", then
# ",task=%s,pid=%d,uid=%d". Kernels without cpusets/memcg omit those parts.
SUMMARY = re.compile(r"oom-kill:(?P<fields>constraint=.*)")
_SUMMARY_SPLIT = re.compile(r",(?=(?:constraint|nodemask|cpuset|mems_allowed|oom_memcg|"
                            r"task_memcg|task|pid|uid)=|global_oom\b)")

# memcg, mm/memcontrol.c: mem_cgroup_print_oom_meminfo() "memory: usage %llukB, limit
# %llukB, failcnt %lu" (v1 also "memory+swap:", "kmem:"); before 4.19
# mem_cgroup_print_oom_info() "Task in %s killed as a result of limit of %s"; 4.19+
# mem_cgroup_print_oom_group() "Tasks in %s are going to be killed due to memory.oom.group
# set"; "Memory cgroup stats for %s:" opens the stats dump (not the victim's cgroup).
MEMCG_USAGE = re.compile(r"(?<![\w+])memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
TASK_IN = re.compile(r"Task in (?P<memcg>\S+) killed as a result of limit of (?P<limit>\S+)")
GROUP = re.compile(r"Tasks in (?P<memcg>\S+) are going to be killed due to memory\.oom\.group")
# oom_reaper (4.6+): "oom_reaper: reaped process %d (%s), now anon-rss:%lukB, ..." or
# "oom_reaper: unable to reap pid:%d (%s)" (@c797bc88).
REAPED = re.compile(r"oom_reaper: reaped process (\d+)")
UNREAPED = re.compile(r"oom_reaper: unable to reap pid:(\d+)")
# show_mem()/show_swap_cache_info(): "Free swap  = %lukB", "Total swap = %lukB".
SWAP = re.compile(r"(Free|Total) swap\s*=\s*(\d+)kB")
PANIC = re.compile(r"Kernel panic - not syncing: (?:Out of memory|out of memory)[^\r\n]*")
# dump_tasks(): "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
# (2.6.32: "... rss cpu oom_adj oom_score_adj name"; 4.15+: "[  pid  ] ... pgtables_bytes
# ..."; 6.x adds "rss_anon rss_file rss_shmem"): columns are read from the header.
TABLE_HEAD = re.compile(r"\[\s*pid\s*\]\s+(?P<cols>uid\s+tgid\s+total_vm\s+rss.*\bname)\s*$")
TABLE_ROW = re.compile(r"\[\s*(?P<pid>\d+)\]\s+(?P<rest>-?\d.*)")

TAIL_LINES = 50  # after a kill, watch this many lines for the reaper and group kills
MAX_REPORT_LINES = 20_000  # a header without a kill stops pinning line-by-line parsing
MAX_TABLE = 1 << 17  # task-table rows kept per report: bounded memory on any input
TOP_USERS = 5


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


class OomEvent(Record):
    """One process killed by the OOM killer, with what its report said about why.

    Fields are None when the log does not print them (by kernel version, or because the
    excerpt is cut); ``partial`` marks a Killed line cut off after its pid."""

    def __init__(self, pid: int | None = None, process: str | None = None, uid: int | None = None,
                 total_vm_kb: int | None = None, anon_rss_kb: int | None = None,
                 file_rss_kb: int | None = None, shmem_rss_kb: int | None = None,
                 pgtables_kb: int | None = None, oom_score_adj: int | None = None,
                 score: int | None = None, selected: dict[str, Any] | None = None,
                 scope: str | None = None, constraint: str | None = None, memcg: str | None = None,
                 oom_memcg: str | None = None, memcg_usage_kb: int | None = None,
                 memcg_limit_kb: int | None = None, memcg_failcnt: int | None = None,
                 invoked_by: str | None = None, gfp_mask: str | None = None,
                 order: int | None = None, trigger_oom_score_adj: int | None = None,
                 via: str | None = None, swap_free_kb: int | None = None,
                 swap_total_kb: int | None = None, table: dict[str, Any] | None = None,
                 top: list[dict[str, Any]] | None = None, reaped: bool | None = None,
                 timestamp: str | float | None = None, uptime_s: float | None = None,
                 time: datetime | None = None, source: str = "", line: int = 0,
                 partial: bool = False):
        self.pid = pid
        self.process = process
        self.uid = uid
        self.total_vm_kb = total_vm_kb
        self.anon_rss_kb = anon_rss_kb
        self.file_rss_kb = file_rss_kb
        self.shmem_rss_kb = shmem_rss_kb
        self.pgtables_kb = pgtables_kb
        self.oom_score_adj = oom_score_adj
        self.score = score  # the badness score printed on the selection line
        self.selected = selected  # the selected task when a child died instead
        self.scope = scope  # "global" or "memcg"
        self.constraint = constraint
        self.memcg = memcg  # the victim's memory cgroup (task_memcg)
        self.oom_memcg = oom_memcg  # the cgroup whose limit was hit
        self.memcg_usage_kb = memcg_usage_kb
        self.memcg_limit_kb = memcg_limit_kb
        self.memcg_failcnt = memcg_failcnt
        self.invoked_by = invoked_by
        self.gfp_mask = gfp_mask
        self.order = order
        self.trigger_oom_score_adj = trigger_oom_score_adj
        self.via = via  # "sysrq", "oom_kill_allocating_task", "oom.group"
        self.swap_free_kb = swap_free_kb
        self.swap_total_kb = swap_total_kb
        self.table = table  # the victim's task-table row
        self.top = [] if top is None else top  # largest RSS in the task table
        self.reaped = reaped  # oom_reaper: True reaped, False unable, None not seen
        self.timestamp = timestamp  # as printed
        self.uptime_s = uptime_s
        self.time = time  # absolute, when the framing allows
        self.source = source
        self.line = line
        self.partial = partial

    @property
    def rss_kb(self) -> int | None:
        parts = [v for v in (self.anon_rss_kb, self.file_rss_kb, self.shmem_rss_kb) if v]
        return sum(parts) if parts else None

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "time"}
        data["time"] = self.time.isoformat() if self.time else None
        return data


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
        self.summary_stamp: Stamp = NO_STAMP
        self.usage: tuple[int, int, int] | None = None
        self.swap: dict[str, int] = {}
        self.columns: list[str] | None = None
        self.table: dict[int, tuple] = {}
        self.selected: tuple[int, str, int, str] | None = None  # pid, comm, score, message
        self.group: str | None = None
        self.killed: list[OomEvent] = []
        self.header_used: bool = False
        self.lines: int = 0


class KernlogParser:
    """A line-at-a-time state machine over one log. ``feed`` returns the events that are
    complete; ``close`` the rest. ``wants_all`` tells a fast scanner when every line
    matters (inside a report); otherwise only lines with an anchor (``ANCHORS``) do."""

    def __init__(self, source: str = "", reference: datetime | None = None,
                 boot_time: float | None = None):
        self.source = source
        self.reference = reference
        self.boot_time = boot_time
        self.report: _Report | None = None
        self.tail = 0
        self.selection_candidate: tuple[str, int] | None = None
        self.panics: list[tuple[str, Stamp, int]] = []

    @property
    def wants_all(self) -> bool:
        """Inside a report, and right after a selection line outside one (only a Killed
        line that follows at once makes it count, so the next line must be seen)."""
        return self.selection_candidate is not None or self.report is not None and (
            self.tail > 0 or not self.report.killed)

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

    # -- one line ------------------------------------------------------------------------
    def _line(self, line: str, lineno: int, stamp: Stamp | None, out: list[OomEvent]) -> None:
        if "Killed process" in line:
            killed = False
            for match in KILLED.finditer(line):  # two records may share a line
                before = SELECT.search(line, 0, match.start())
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
        elif "[" in line and report.columns is not None and TABLE_ROW.search(line):
            self._row(report, TABLE_ROW.search(line))
        elif "tgid" in line:
            head = TABLE_HEAD.search(line)
            if head:
                report.columns = head["cols"].split()
                report.table = {}
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
                self.panics.append((match[0], self._stamp(line, match.start(), None), lineno))

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
        match = HEADER.search(line)
        report = self.report = _Report()
        if not match:
            return
        comm = match["comm"]
        # a prefix such as "kernel: " or "[ 12.3] " is not part of the comm
        comm = re.split(r"(?:\]|kernel:|\s-\s|>)\s+", comm)[-1].strip()
        report.invoked_by = comm
        args = match["args"]
        gfp, order, adj = _GFP.search(args), _ORDER.search(args), _TRIGGER_ADJ.search(args)
        report.gfp_mask = gfp[1] if gfp else None
        report.order = int(order[1]) if order else None
        report.trigger_adj = int(adj[1]) if adj else None

    def _summary(self, match: re.Match, line: str, lineno: int, stamp: Stamp | None) -> None:
        report = self.report
        fields: dict[str, str] = {}
        for part in _SUMMARY_SPLIT.split(match["fields"]):
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()
        report.cpuset_summary = fields
        report.constraint = fields.get("constraint") or None
        if "task_memcg" in fields:
            report.memcg = fields["task_memcg"] or None
        if "oom_memcg" in fields:
            report.oom_memcg = fields["oom_memcg"] or None
        report.summary_line = lineno
        report.summary_stamp = self._stamp(line, match.start(), stamp)

    def _row(self, report: _Report, match: re.Match) -> None:
        if len(report.table) >= MAX_TABLE:
            return
        columns = report.columns
        values = match["rest"].split(None, len(columns) - 1)
        if len(values) < len(columns):
            return
        row = dict(zip(columns, values, strict=True))
        report.table[int(match["pid"])] = (
            _int(row.get("uid")), _int(row.get("total_vm")), _int(row.get("rss")),
            _int(row.get("oom_score_adj")), row.get("name", "").strip())

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
        comm = _COMM.match(rest)
        if comm:
            event.process = comm["comm"]
            fields = rest[comm.end():]
        else:
            fields = rest
            event.partial = True
        uid = (comm["uid"] if comm and comm["uid"] else None) or _first(_UID, fields)
        event.uid = _int(uid)
        event.total_vm_kb = _kb(_first(_KB["total-vm"], fields) or _first(_KB["vsz"], fields))
        event.anon_rss_kb = _kb(_first(_KB["anon-rss"], fields))
        event.file_rss_kb = _kb(_first(_KB["file-rss"], fields))
        event.shmem_rss_kb = _kb(_first(_KB["shmem-rss"], fields))
        event.pgtables_kb = _kb(_first(_KB["pgtables"], fields))
        event.oom_score_adj = _int(_first(_VICTIM_ADJ, fields))
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
        row = report.table.get(event.pid) if event.pid is not None else None
        if row:
            event.table = {"uid": row[0], "total_vm_pages": row[1], "rss_pages": row[2],
                           "oom_score_adj": row[3]}
            if event.process is None and row[4]:
                event.process = row[4]
        if report.table:
            biggest = sorted(report.table.items(), key=lambda kv: kv[1][2] or 0, reverse=True)
            event.top = [{"pid": pid, "process": row[4], "rss_pages": row[2]}
                         for pid, row in biggest[:TOP_USERS]]

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
    """Lines as the kernel and :func:`scan` count them: split at ``\\n`` only (a stray
    ``\\r`` or form feed inside a record does not start a new line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_lines(lines: Iterable[str], source: str = "", reference: datetime | None = None,
                boot_time: float | None = None) -> Iterator[OomEvent]:
    """Every line through the state machine: the reference behaviour of :func:`scan`."""
    parser = KernlogParser(source, reference, boot_time)
    for number, line in enumerate(lines, 1):
        yield from parser.feed(line, number)
    yield from parser.close()


# -- the fast path ---------------------------------------------------------------------
# Outside a report only the lines holding an anchor matter, so the scanner searches the
# bytes and decodes just those. The searches and the line count use stringzilla (SIMD
# find and count, ~15-30 GiB/s): with bytes.find and bytes.count, three passes at ~3 GiB/s
# each, a 1 GiB log took two processes and twice grep's time; now one process beats grep.
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
