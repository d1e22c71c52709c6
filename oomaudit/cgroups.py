"""The limits of a cgroup, read from /sys/fs/cgroup for a process's /proc/PID/cgroup.

One reader for every caller: the host plugin lowers the live RAM to our own cgroup's
limit (inside a container that is the RAM that exists for us), the containers plugin
shows each service's limits beside it, and the pool starts no more workers than our CPU
quota runs. cgroup v2 is the ``0::/path`` line and its ``memory.max`` / ``memory.high`` /
``memory.swap.max`` and ``cpu.max``; v1 is the ``memory`` controller's
``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` for memory + swap) and
the ``cpu`` controller's ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``. A limit set
on an ancestor binds its children too, so the tightest one along the path is the one in
force.
"""
from __future__ import annotations

from pathlib import Path

from .procfs import read_live

CGROUP_ROOT = Path("/sys/fs/cgroup")
V2_FILES = {"max": "memory.max", "high": "memory.high", "swap": "memory.swap.max"}
V1_FILES = {"max": "memory.limit_in_bytes", "swap": "memory.memsw.limit_in_bytes"}


def _places(proc_cgroup: str, cgroup_root: Path, controller: str) -> list[tuple[Path, bool]]:
    """The cgroup's folder and each of its ancestors up to the hierarchy's root, for v2
    and/or v1's ``controller``, with True for v2."""
    found = []
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            base, v2 = cgroup_root, True
        elif controller in controllers.split(","):
            base, v2 = cgroup_root / controller, False
        else:
            continue
        folder = base / path.lstrip("/")
        while True:
            found.append((folder, v2))
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
    return found


def limits(proc_cgroup: str, cgroup_root: Path = CGROUP_ROOT) -> dict[str, tuple[int, str]]:
    """The tightest ``max``, ``high`` and ``swap`` limits (bytes, file) in force for a
    cgroup; a kind that is unlimited all the way up is absent."""
    best: dict[str, tuple[int, str]] = {}
    for folder, v2 in _places(proc_cgroup, cgroup_root, "memory"):
        for kind, name in (V2_FILES if v2 else V1_FILES).items():
            limit = read_limit(folder / name)
            if limit is not None and (kind not in best or limit < best[kind][0]):
                best[kind] = (limit, str(folder / name))
    return best


def cpu_limit(proc_cgroup: str, cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """The tightest CPU quota in force for a cgroup, in CPUs (``cpu.max`` 200000 100000:
    2.0); None when there is none all the way up. A container, or a Kubernetes pod with
    ``cpu: 2``, sees every CPU of its node in its affinity mask, yet runs two CPUs' worth."""
    best = None
    for folder, v2 in _places(proc_cgroup, cgroup_root, "cpu"):
        try:
            if v2:
                quota, _, period = read_live(str(folder / "cpu.max")).partition(" ")
            else:
                quota = read_live(str(folder / "cpu.cfs_quota_us"))
                period = read_live(str(folder / "cpu.cfs_period_us"))
        except OSError:
            continue
        quota, period = quota.strip(), period.strip()
        if quota.isdigit() and period.isdigit() and int(period) > 0:  # "max", "-1": none
            cpus = int(quota) / int(period)
            best = cpus if best is None else min(best, cpus)
    return best


def cgroup_limit(proc_cgroup: str, cgroup_root: Path = CGROUP_ROOT) -> tuple[int, str] | None:
    """The tightest hard memory limit (``memory.max`` / ``memory.limit_in_bytes``)."""
    return limits(proc_cgroup, cgroup_root).get("max")


def read_limit(path: Path) -> int | None:
    try:
        text = read_live(str(path)).strip()
    except OSError:
        return None
    # "max" (v2) and the v1 "no limit" value (page-aligned LONG_MAX) mean unlimited
    return int(text) if text.isdigit() and int(text) < (1 << 62) else None
