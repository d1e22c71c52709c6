"""Whole-host facts and rules: RAM and swap measured live (psutil, cgroup limits) and
HOST002, the memory ledger's total against RAM and RAM + swap."""
from __future__ import annotations

import os
from pathlib import Path

from oomaudit import Evidence, Finding, Severity, hookimpl
from oomaudit.catalogue import make_rules
from oomaudit.host import Fact
from oomaudit.units import format_size


@hookimpl
def oomaudit_collect(host):
    import psutil  # the live host only: a repository or a tree needs neither

    from oomaudit.cgroups import cgroup_limit

    physical = psutil.virtual_memory().total
    ram = Fact(physical, "live: psutil (MemTotal)")
    try:
        limit = cgroup_limit(Path("/proc/self/cgroup").read_text())
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


def check_host002(host):
    ledger = host.ledger
    if not ledger.consumers:
        return
    ram = host.require("ram")
    swap = host.fact("swap")
    total = ledger.total()
    if total <= ram.value:
        return
    evidence = [Evidence(f"{c.service}: {format_size(c.bytes)} = {c.how}", c.source)
                for c in ledger.consumers]
    evidence.append(Evidence(f"RAM = {format_size(ram.value)}", ram.source))
    swap_bytes = swap.value if swap else 0
    if swap:
        evidence.append(Evidence(f"swap = {format_size(swap_bytes)}", swap.source))
    beyond = swap is not None and total > ram.value + swap_bytes
    where = "RAM + swap" if beyond else "RAM"
    limit = ram.value + swap_bytes if beyond else ram.value
    yield Finding(
        "HOST002",
        f"services' worst case {format_size(total)} exceeds {where} {format_size(limit)} "
        f"by {format_size(total - limit)}",
        evidence=evidence, severity=Severity.CRITICAL if beyond else None,
        fix=f"shrink the largest consumers by {format_size(total - ram.value)} in total "
            "(see 'oomaudit budget'), or give the host more RAM")  # key "": once per host


@hookimpl
def oomaudit_rules():
    return make_rules({"HOST002": check_host002}, "host.toml")
