"""Memory limits of a cgroup, read from /sys/fs/cgroup for a process's /proc/PID/cgroup.

One reader for every caller: the host plugin lowers the live RAM to our own cgroup's
limit (inside a container that is the RAM that exists for us), the containers plugin
shows each service's limits beside it. cgroup v2 is the ``0::/path`` line and its
``memory.max`` / ``memory.high`` / ``memory.swap.max``; v1 is the ``memory`` controller's
``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes`` for memory + swap).
A limit set on an ancestor binds its children too, so the tightest one along the path
is the one in force.
"""
from __future__ import annotations

from pathlib import Path

from .procfs import read_live

CGROUP_ROOT = Path("/sys/fs/cgroup")
V2_FILES = {"max": "memory.max", "high": "memory.high", "swap": "memory.swap.max"}
V1_FILES = {"max": "memory.limit_in_bytes", "swap": "memory.memsw.limit_in_bytes"}


def _places(proc_cgroup: str, cgroup_root: Path) -> list[tuple[Path, Path, dict[str, str]]]:
    """(controller root, the cgroup's folder, file names) for v2 and/or v1."""
    found = []
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            base, names = cgroup_root, V2_FILES
        elif "memory" in controllers.split(","):
            base, names = cgroup_root / "memory", V1_FILES
        else:
            continue
        found.append((base, base / path.lstrip("/"), names))
    return found


def limits(proc_cgroup: str, cgroup_root: Path = CGROUP_ROOT) -> dict[str, tuple[int, str]]:
    """The tightest ``max``, ``high`` and ``swap`` limits (bytes, file) in force for a
    cgroup; a kind that is unlimited all the way up is absent."""
    best: dict[str, tuple[int, str]] = {}
    for base, folder, names in _places(proc_cgroup, cgroup_root):
        while True:
            for kind, name in names.items():
                limit = read_limit(folder / name)
                if limit is not None and (kind not in best or limit < best[kind][0]):
                    best[kind] = (limit, str(folder / name))
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
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
