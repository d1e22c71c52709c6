"""PG001-PG002: each cluster's shared_buffers and worst case against the host's RAM,
with the live postmaster's memory as evidence and pgtune's sizes as the fix.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.parsers.pgcluster import PgConfig
from oomaudit.units import format_size

from .clusters import Cluster, clusters, service_name
from .worstcase import MB, fit, pg_size, sum_text, worst_case


def _where(config: PgConfig, name: str) -> tuple[str, int | None]:
    item = config.setters.get(name)
    if item is not None and item.source is not None:
        return item.source.display, item.line
    return config.source.display, None


def check_pg001(host):
    if not clusters(host):  # nothing to judge: no need to ask for the RAM
        return
    ram = host.require("ram")
    for cluster in clusters(host):
        config = cluster.config
        shared = config.bytes("shared_buffers")
        if shared * 10 <= ram.value * 4:
            continue
        path, line = _where(config, "shared_buffers")
        share = 100 * shared / ram.value
        quarter = ram.value // 4 // MB * MB
        yield Finding(
            "PG001",
            f"{cluster.service}: shared_buffers {format_size(shared)} is {share:.0f}% of RAM "
            f"{format_size(ram.value)} (more than 40%)",
            path, line,
            evidence=[Evidence(f"shared_buffers = {format_size(shared)}",
                               config.origin("shared_buffers")),
                      Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                      *_live_evidence(cluster)],
            fix=f"shared_buffers = {pg_size(quarter)}    # 25% of RAM, as pgtune sizes it; "
                "the kernel's page cache does the rest", key=service_name(config))


def check_pg002(host):
    if not clusters(host):  # nothing to judge: no need to ask for the RAM
        return
    ram = host.require("ram")
    for cluster in clusters(host):
        config = cluster.config
        terms = worst_case(config)
        total = sum(t.bytes for t in terms)
        if total <= ram.value:
            continue
        largest = max(terms, key=lambda t: t.bytes)
        vacuum = "autovacuum_work_mem" if config.value("autovacuum_work_mem") != -1 \
            else "maintenance_work_mem"
        setting = {"connections": "work_mem", "autovacuum": vacuum}.get(largest.label,
                                                                         largest.label)
        path, line = _where(config, setting)
        evidence = [Evidence(f"{t.how} = {format_size(t.bytes)}", t.source) for t in terms]
        evidence.append(Evidence(f"RAM = {format_size(ram.value)}", ram.source))
        yield Finding(
            "PG002",
            f"{cluster.service}: worst case {format_size(total)} ({sum_text(terms)}) exceeds RAM "
            f"{format_size(ram.value)} by {format_size(total - ram.value)}",
            path, line, evidence=evidence + _live_evidence(cluster),
            fix=fit(config, ram.value), key=service_name(config))


def _live_evidence(cluster: Cluster) -> list[Evidence]:
    live = cluster.live
    if live is None:
        return []
    rss = format_size(live.rss) if live.rss is not None else "unreadable"
    items = [Evidence(f"postmaster PID {live.pid} RSS {rss}", f"live: {live.command}")]
    if live.total_rss is not None and live.processes > 1:
        items.append(Evidence(
            f"{live.processes} server processes, RSS together {format_size(live.total_rss)} "
            "(shared_buffers pages count in every process that touched them)", "live: psutil"))
    return items
