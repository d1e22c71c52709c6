"""The sysctl policy table every reporter prints: each setting with its source, and
CommitLimit computed (and the kernel's own figures on a live host); each value is also a
host fact, what ``oomaudit facts`` writes."""
from __future__ import annotations

from oomaudit import MissingFact
from oomaudit.host import Fact, Table
from oomaudit.parsers.sysctl import display_name
from oomaudit.units import format_size

from .kernel import KBYTES, POLICY, RATIO, commit_limit, live_meminfo, memory_for
from .policies import live_policy, persisted


def budget(host):
    """The policy table: each setting with its source, and CommitLimit computed."""
    state = persisted(host)
    if state is None:
        return
    live = live_policy(host)
    policy = live if live is not None else state.policies[state.boot]
    boot = state.policies[state.boot]
    rows = []
    for key in POLICY:  # each value also a host fact: what `oomaudit facts` writes
        host.facts[display_name(key)] = Fact(policy[key].value, f"live: /proc/sys/{key}"
                                             if live is not None else boot[key].where)
        if live is not None:
            rows.append([display_name(key), policy[key].value, f"live: /proc/sys/{key}",
                         f"{boot[key].value} ({boot[key].where})"])
        else:
            rows.append([display_name(key), policy[key].value, boot[key].where])
    try:
        memory = memory_for(host, boot)
    except MissingFact:  # the RAM of a tree nobody declared
        memory = None
    if memory is not None:
        limit, how = commit_limit(memory, policy[RATIO].value, policy[KBYTES].value)
        host.facts["commit_limit"] = Fact(limit, f"computed: {how}")
        rows.append(["CommitLimit (computed)", format_size(limit), how])
        info = live_meminfo(host)
        for field_name in ("CommitLimit", "Committed_AS"):
            if info and field_name in info:
                rows.append([f"{field_name} (kernel)", format_size(info[field_name]),
                             "live: /proc/meminfo"])
    rows.append(["applied at boot by", state.boot, state.why])
    columns = ["setting", "value", "source"] + (["persisted"] if live is not None else [])
    for row in rows:
        row.extend([""] * (len(columns) - len(row)))
    host.tables["sysctl_policy"] = Table("Kernel memory policy (sysctl)", columns, rows)
