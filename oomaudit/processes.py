"""The live host's processes, read once per run and shared by every plugin.

Several plugins need the same walk over /proc (the database's RSS, PHP-FPM's
workers, each unit's oom_score_adj, the kill order); this module does it once
and caches the snapshot on the host. psutil is imported only here, only live.
"""
from __future__ import annotations

from typing import NamedTuple

from .confine import read_live


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
    import psutil

    result, denied = [], 0
    for p in psutil.process_iter(["pid", "name", "cmdline", "uids"]):
        info = p.info
        rss = None
        try:  # RSS only: PSS needs smaps, far too slow for every process on a busy host
            rss = p.memory_info().rss
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            denied += 1
        pid = info["pid"]
        uids = info.get("uids")
        result.append(Proc(
            pid, info.get("name") or "", tuple(info.get("cmdline") or ()), rss,
            _cgroup(pid), _int(f"/proc/{pid}/oom_score_adj"), _int(f"/proc/{pid}/oom_score"),
            uids.real if uids else None))
    return result, denied


def _cgroup(pid: int) -> str:
    try:
        text = read_live(f"/proc/{pid}/cgroup")
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
