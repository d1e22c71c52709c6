"""The live host's processes, read once per run and shared by every plugin.

Several plugins need the same walk over /proc (the database's RSS, PHP-FPM's
workers, each unit's oom_score_adj, the kill order); this module does it once
and caches the snapshot on the host.

It reads /proc itself rather than through psutil: a busy host has thousands of processes,
and psutil's ``process_iter`` builds an object per process and reads more files than the
rules use (0.4 ms a process: 2 s at 4,000, most of a live scan). Five small files a
process, each one ``read(2)``, give the same name, command line, RSS and uid
(tests/memory/test_processes.py compares them with psutil's on this machine).
"""
from __future__ import annotations

import os
from typing import NamedTuple

from .procfs import live_pids, read_live

_PAGE = os.sysconf("SC_PAGE_SIZE")
_COMM_MAX = 15  # TASK_COMM_LEN - 1: a longer name is cut in /proc/PID/stat


class Proc(NamedTuple):
    """One process of the live snapshot: psutil's view of it plus its /proc/PID files. A value
    this user may not read is None."""

    pid: int
    name: str  # psutil's name (comm, or the executable's basename)
    cmdline: tuple[str, ...]
    rss: int | None  # bytes; None when unreadable
    cgroup: str  # cgroup v2 path ("/system.slice/mysql.service"), or the v1 memory path
    oom_score_adj: int | None
    oom_score: int | None
    uid: int | None

    @property
    def unit(self) -> str | None:
        """The systemd unit owning the process, from its cgroup path."""
        for part in reversed(self.cgroup.split("/")):
            if part.endswith((".service", ".scope")):
                return part
        return None

    @property
    def title(self) -> str:
        """The process title as ps shows it (``php-fpm: pool www``)."""
        return " ".join(self.cmdline) or self.name


def processes(host) -> list[Proc]:
    """Every process this user can see, cached on the host (live mode only)."""
    if "processes" in host.cache:
        return host.cache["processes"]
    snapshot, denied = _snapshot()
    if denied:
        host.note_unreadable("live: /proc/PID", f"{denied} processes' memory or OOM score "
                             "not readable by this user; run as root for a full view")
    host.cache["processes"] = snapshot
    return snapshot


def _snapshot() -> tuple[list[Proc], int]:
    """Every process of /proc, in PID order; the count of those whose files this user may
    not read. A process that ends while read is left out, as psutil leaves it out."""
    result, denied = [], 0
    for entry in live_pids():
        try:
            proc, hidden = _process(entry)
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue  # gone between the listing and the read
        result.append(proc)
        denied += hidden
    return result, denied


def _process(pid: int) -> tuple[Proc, bool]:
    """One process: ``stat`` (name, RSS in pages, as psutil's ``memory_info().rss``),
    ``cmdline``, ``status`` (the real uid), ``cgroup`` and the two OOM scores."""
    base = f"/proc/{pid}"
    stat = read_live(f"{base}/stat")
    comm, _, rest = stat[stat.index("(") + 1:].rpartition(")")
    fields = rest.split()
    rss = int(fields[21]) * _PAGE if fields[21].lstrip("-").isdigit() else None
    try:
        raw = read_live(f"{base}/cmdline")
    except PermissionError:
        raw = ""
    cmdline = tuple(raw.split("\0")[:-1] if raw.endswith("\0") else raw.split("\0")) \
        if raw else ()
    name = comm
    if len(comm) >= _COMM_MAX and cmdline:  # the name psutil gives a cut one
        exe = os.path.basename(cmdline[0])
        if exe.startswith(comm):
            name = exe
    uid = _uid(base)
    adj, score = _int(f"{base}/oom_score_adj"), _int(f"{base}/oom_score")
    return Proc(pid, name, cmdline, rss, _cgroup(base), adj, score, uid), \
        uid is None or adj is None


def _uid(base: str) -> int | None:
    try:
        text = read_live(f"{base}/status")
    except OSError:
        return None
    at = text.find("\nUid:")
    return int(text[at + 5:].split(None, 1)[0]) if at >= 0 else None


def _cgroup(base: str) -> str:
    try:
        text = read_live(f"{base}/cgroup")
    except OSError:
        return ""
    v1 = ""
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            return path
        if "memory" in controllers.split(","):
            v1 = path
    return v1


def _int(path: str) -> int | None:
    try:
        return int(read_live(str(path)).strip())
    except (OSError, ValueError):
        return None
