"""The live host's cgroups: each container's memory limit (or, unlimited, what it holds
now) enters the ledger, every limited cgroup is a row of the table reporters print, and
auditing from inside a container is a fact.
"""
from __future__ import annotations

import os
import re

from oomaudit import cgroups
from oomaudit.host import Fact, Table
from oomaudit.processes import processes
from oomaudit.procfs import live_exists, read_live
from oomaudit.units import format_size

_CONTAINER_CGROUP = re.compile(r"(docker|containerd|libpod|kubepods|crio|lxc)", re.I)


def collect(host):
    inside = next((f for f in ("/.dockerenv", "/run/.containerenv") if live_exists(f)), None)
    if inside:
        host.facts["container"] = Fact(True, f"live: {inside} exists: oomaudit audits from "
                                             "inside a container; RAM is its cgroup limit")
    groups: dict[str, list] = {}
    for proc in processes(host):
        groups.setdefault(proc.cgroup, []).append(proc)
    rows = []
    own = os.getpid()
    for path, procs in sorted(groups.items()):
        mine = any(p.pid == own for p in procs)
        container = bool(_CONTAINER_CGROUP.search(path))
        found = _limits_of(procs[0].pid)
        if not (found or container or (mine and inside)):
            continue
        rss = sum(p.rss or 0 for p in procs)
        shown = {k: format_size(v[0]) for k, v in found.items()}
        label = path + (" (oomaudit itself)" if mine else "")
        rows.append([label, len(procs), format_size(rss), shown.get("max", "max"),
                     shown.get("high", "max"), shown.get("swap", "max")])
        if not container:
            continue  # units and the host itself: their services' plugins budget them
        if "max" in found:
            host.ledger.add(f"cgroup:{path}", found["max"][0], "the cgroup's memory limit",
                            f"live: {found['max'][1]}", "containers")
        else:
            host.ledger.add(f"cgroup:{path}", rss, "unbounded: no memory limit; resident now",
                            f"live: /proc ({len(procs)} processes)", "containers")
    if rows:
        title = "cgroup memory limits" + (f" (audited from inside a container: {inside})"
                                          if inside else "")
        host.tables["cgroups"] = Table(title, ["cgroup", "procs", "RSS now", "memory.max",
                                               "memory.high", "swap.max"], rows)


def _limits_of(pid: int) -> dict:
    """The limits in force for a process, from its own /proc/PID/cgroup (v2 and v1 lines:
    on a hybrid host the memory controller may be v1 while the unified path is "/")."""
    try:
        text = read_live(f"/proc/{pid}/cgroup")
    except OSError:
        return {}
    return cgroups.limits(text)
