"""HOST001, /proc/meminfo and the kernel's current kill order: the code behind
``memory.py``, which registers it and says what the kill order leaves out. Imported
only on a live host.
"""
from __future__ import annotations

import os

from oomaudit import Evidence, Finding
from oomaudit.host import Table
from oomaudit.processes import processes
from oomaudit.units import format_size

MEMINFO = "/proc/meminfo"
KILL_ORDER_ROWS = 5
OOM_SCORE_ADJ_MIN = -1000


def parse_meminfo(text: str) -> dict[str, int]:
    """``MemTotal:  24684096 kB`` -> bytes; fields without a unit (HugePages_Total) stay
    counts."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if not words or not words[0].isdigit():
            continue
        factor = 1024 if words[1:2] == ["kB"] else 1
        values[name.strip()] = int(words[0]) * factor
    return values


def meminfo(host) -> dict[str, int] | None:
    """/proc/meminfo of the live host, read once per run; None (and a CONF003 note) when
    it cannot be read."""
    if "meminfo" not in host.cache:
        try:
            with open(MEMINFO) as fh:
                host.cache["meminfo"] = parse_meminfo(fh.read())
        except OSError as exc:
            host.note_unreadable(f"live: {MEMINFO}", exc.strerror or str(exc))
            host.cache["meminfo"] = None
    return host.cache["meminfo"]


def kill_order(procs, me: int | None = None) -> list:
    """Killable processes, the kernel's first victim first (ties: the larger RSS)."""
    me = os.getpid() if me is None else me
    killable = [p for p in procs if p.pid not in (1, me) and p.rss and p.oom_score is not None
                and p.oom_score_adj != OOM_SCORE_ADJ_MIN]
    return sorted(killable, key=lambda p: (-p.oom_score, -(p.rss or 0), p.pid))


def collect(host):
    rows = []
    for rank, p in enumerate(kill_order(processes(host))[:KILL_ORDER_ROWS], 1):
        rows.append([rank, p.pid, p.name, p.unit or p.cgroup or "-", format_size(p.rss),
                     p.oom_score, p.oom_score_adj])
    host.tables["kill_order"] = Table(
        "OOM kill order now (the kernel kills the first one)",
        ["#", "pid", "process", "unit/cgroup", "RSS", "oom_score", "oom_score_adj"], rows)


def _threshold(host, key: str, default: float) -> tuple[float, str]:
    """The configured alert percentage and where it came from."""
    settings = host.settings
    value = getattr(settings, key.replace("-", "_"), None) if settings else None
    if value is None:
        return default, f"default; set {key} in .oomaudit.toml to change it"
    return value, f"{key} in {settings.path}"


def check_host001(host):
    """For a live host (``memory.py`` calls it for no other)."""
    info = meminfo(host)
    if not info or not info.get("MemTotal"):
        return
    total, available = info["MemTotal"], info.get("MemAvailable", info.get("MemFree", 0))
    limit, limit_source = _threshold(host, "memory-alert-percent", 85)
    used = total - available
    percent = used * 100 / total
    if percent > limit:
        yield Finding(
            "HOST001", f"memory in use {percent:.1f}% ({format_size(used)} of "
            f"{format_size(total)}) is above the alert threshold {limit:g}%",
            evidence=[Evidence(f"MemTotal = {format_size(total)}", f"live: {MEMINFO}"),
                      Evidence(f"MemAvailable = {format_size(available)}", f"live: {MEMINFO}"),
                      Evidence(f"in use = MemTotal - MemAvailable = {format_size(used)}"),
                      Evidence(f"threshold {limit:g}%", limit_source)],
            fix="see the kill order in this report and 'oomaudit budget': shrink the largest "
                "consumers or add RAM before the OOM killer chooses for you", key="memory")
    swap_total = info.get("SwapTotal", 0)
    if not swap_total:
        return
    swap_used = swap_total - info.get("SwapFree", 0)
    swap_limit, swap_source = _threshold(host, "swap-alert-percent", 50)
    swap_percent = swap_used * 100 / swap_total
    if swap_percent > swap_limit:
        yield Finding(
            "HOST001", f"swap in use {swap_percent:.1f}% ({format_size(swap_used)} of "
            f"{format_size(swap_total)}) is above the alert threshold {swap_limit:g}%",
            evidence=[Evidence(f"SwapTotal = {format_size(swap_total)}", f"live: {MEMINFO}"),
                      Evidence(f"SwapFree = {format_size(info.get('SwapFree', 0))}",
                               f"live: {MEMINFO}"),
                      Evidence(f"threshold {swap_limit:g}%", swap_source)],
            fix="the host is short of RAM for its working set: find what swaps (smem, "
                "/proc/PID/status VmSwap) and shrink it, or add RAM", key="swap")
