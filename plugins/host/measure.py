"""What a live host has: RAM measured with psutil (or the cgroup limit when it is lower),
swap, CPUs and the kernel release, as host facts (``oomaudit facts`` writes them too).
Imported for a live host only: a repository or a tree needs neither psutil nor this."""
from __future__ import annotations

import os

import psutil

from oomaudit.cgroups import cgroup_limit
from oomaudit.host import Fact
from oomaudit.procfs import read_live
from oomaudit.units import format_size


def collect(host):
    physical = psutil.virtual_memory().total
    ram = Fact(physical, "live: psutil (MemTotal)")
    try:
        limit = cgroup_limit(read_live("/proc/self/cgroup"))
    except OSError:
        limit = None
    if limit and limit[0] < physical:
        ram = Fact(limit[0], f"live: cgroup limit {limit[1]}, below physical RAM "
                             f"{format_size(physical)}")
    host.facts.setdefault("ram", ram)
    host.facts.setdefault("swap", Fact(psutil.swap_memory().total, "live: psutil (SwapTotal)"))
    # what `oomaudit facts` also writes: a repository audited against them needs them too
    if limit:
        host.facts["cgroup_limit"] = Fact(limit[0], f"live: {limit[1]}")
    host.facts["cpus"] = Fact(os.cpu_count() or 1, "live: online CPUs")
    host.facts["kernel"] = Fact(os.uname().release, "live: uname -r")
