"""``oomaudit fleet`` output: the ranked hosts and the rules across the fleet, as text, as
JSON (``oomaudit/fleet.schema.json``, ``schema_version`` 1), or as Prometheus metrics.

Every string here was escaped by ``host.terminal`` when it was read, so neither format prints
a control character a report or a folder name carried.
"""
from __future__ import annotations

import time

from . import __version__
from .fleet import Fleet, HostRisk
from .jsonout import dumps
from .model import Severity
from .units import format_size

SCHEMA_VERSION = 1
NAMES_SHOWN = 5  # hosts named per rule in text; JSON names them all


def exit_code(fleet: Fleet, fail_on: Severity, exit_zero: bool) -> int:
    return 0 if exit_zero or not fleet.failing(fail_on) else 1


def _worst(host: HostRisk) -> str:
    if host.ram is None:
        return f"{format_size(host.worst)} / RAM unknown"
    return f"{format_size(host.worst)} / {format_size(host.ram)} ({host.ratio:.0%})"


def _note(host: HostRisk) -> str:
    notes = []
    if host.ram_source == "facts":
        notes.append("RAM from facts")
    if host.errors:
        notes.append(f"partial: {host.errors} audit error{'s' * (host.errors != 1)}")
    return "; ".join(notes)


def _aligned(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(v.rjust(w) if i in right else v.ljust(w)
                             for i, (v, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in rows]


def render_text(fleet: Fleet, fail_on: Severity, exit_zero: bool, top: int) -> str:
    hosts = fleet.hosts if top <= 0 else fleet.hosts[:top]
    lines = [f"{len(fleet.hosts)} host{'s' * (len(fleet.hosts) != 1)} from {fleet.reports} "
             f"report{'s' * (fleet.reports != 1)} in {_span(fleet)}", ""]
    if hosts:
        lines.append("Hosts, riskiest first (worst case: every service at its worst at once):")
        rows = [["rank", "host", "worst case / RAM", "kills", "crit", "high", "med", "low",
                 "largest consumer", "note"]]
        for n, h in enumerate(hosts, 1):
            largest = f"{h.top[0]} {format_size(h.top[1])}" if h.top else "-"
            rows.append([str(n), h.name, _worst(h), str(h.kills), str(h.counts[4]),
                         str(h.counts[3]), str(h.counts[2]), str(h.counts[1]), largest,
                         _note(h)])
        if not any(row[-1] for row in rows[1:]):
            rows = [row[:-1] for row in rows]
        lines += _aligned(rows, {0, 3, 4, 5, 6, 7})
        if len(hosts) < len(fleet.hosts):
            rest = len(fleet.hosts) - len(hosts)
            lines.append(f"  ... and {rest:,} more host{'s' * (rest != 1)} (--top 0 lists all)")
    if fleet.rules:
        lines += ["", "Rules by the number of hosts they fire on:"]
        rows = [["rule", "severity", "findings", "hosts", "on"]]
        for s in fleet.rules.values():
            named = ", ".join(s.hosts[:NAMES_SHOWN])
            if len(s.hosts) > NAMES_SHOWN:
                named += f" and {len(s.hosts) - NAMES_SHOWN:,} more"
            rows.append([s.rule, s.severity.label, str(s.findings), str(len(s.hosts)), named])
        lines += _aligned(rows, {2, 3})
    if fleet.notices:
        lines.append("")
        lines += [f"notice: {n}" for n in fleet.notices]
    lines += ["", summary(fleet, fail_on, exit_zero)]
    return "\n".join(lines) + "\n"


def _span(fleet: Fleet) -> str:
    made = sorted(h.generated_at for h in fleet.hosts if h.generated_at)
    where = fleet.directory
    if not made:
        return where
    return where + (f", made {made[0]}" if made[0] == made[-1]
                    else f", made {made[0]} to {made[-1]}")


def summary(fleet: Fleet, fail_on: Severity, exit_zero: bool) -> str:
    counts = fleet.counts()
    total = sum(counts.values())
    parts = ", ".join(f"{n} {sev}" for sev, n in reversed(counts.items()) if n)
    with_findings = sum(1 for h in fleet.hosts if any(h.counts))
    over = sum(1 for h in fleet.hosts if h.over)
    killed = sum(1 for h in fleet.hosts if h.kills)
    failing = fleet.failing(fail_on)
    return (f"{total:,} finding{'s' * (total != 1)}" + (f" ({parts})" if parts else "")
            + f" on {with_findings:,} of {len(fleet.hosts):,} hosts; {over:,} over RAM, "
            f"{killed:,} with OOM kills; {failing:,} at or above '{fail_on.label}'"
            + (f"; {fleet.skipped:,} skipped" if fleet.skipped else "")
            + f" (exit {exit_code(fleet, fail_on, exit_zero)})")


def as_dict(fleet: Fleet, fail_on: Severity, exit_zero: bool) -> dict:
    made = sorted(h.generated_at for h in fleet.hosts if h.generated_at)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "oomaudit", "version": __version__},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "directory": fleet.directory,
        "fail_on": fail_on.label,
        "hosts": [{
            "rank": n, "name": h.name, "report": h.report, "facts": h.facts,
            "generated_at": h.generated_at,
            "ram": None if h.ram is None else {"bytes": h.ram, "source": h.ram_source},
            "swap": h.swap, "worst_case": h.worst, "worst_case_ratio": h.ratio,
            "largest": h.top and {"service": h.top[0], "bytes": h.top[1]},
            "findings": {s.label: h.counts[s] for s in Severity},
            "oom_kills": h.kills, "rules": list(h.rules), "audit_errors": h.errors,
        } for n, h in enumerate(fleet.hosts, 1)],
        "rules": [{"rule": s.rule, "severity": s.severity.label, "findings": s.findings,
                   "hosts": s.hosts} for s in fleet.rules.values()],
        "notices": fleet.notices,
        "summary": {
            "hosts": len(fleet.hosts), "reports": fleet.reports, "skipped": fleet.skipped,
            "findings": sum(fleet.counts().values()), "by_severity": fleet.counts(),
            "failing": fleet.failing(fail_on),
            "hosts_over_ram": sum(1 for h in fleet.hosts if h.over),
            "hosts_with_kills": sum(1 for h in fleet.hosts if h.kills),
            "hosts_without_ram": sum(1 for h in fleet.hosts if h.ram is None),
            "oldest_report": made[0] if made else None,
            "newest_report": made[-1] if made else None,
            "exit_code": exit_code(fleet, fail_on, exit_zero),
        },
    }


def render_json(fleet: Fleet, fail_on: Severity, exit_zero: bool) -> str:
    """One line: json's C encoder writes nothing indented, and indenting 10,000 hosts in
    Python took longer than reading their reports (``jq .`` shows it indented)."""
    return dumps(as_dict(fleet, fail_on, exit_zero), indent=None)


def render_prometheus(fleet: Fleet) -> str:
    """Every host's metrics as its own ``scan --format prometheus`` would write them (so
    contrib/prometheus/oomaudit-alerts.yml applies to a fleet gathered by Ansible as to hosts
    scraped one by one), then the fleet's own: the rank of each host, the hosts each rule
    fires on, the hosts read and the files skipped."""
    from .reporters.prometheus import GAUGE, Family, exposition, host_families

    own = [
        Family("oomaudit_fleet_host_rank", GAUGE,
               "The host's place in the fleet's risk ranking (1: where the OOM killer goes "
               "first).", [({"host": h.name}, n) for n, h in enumerate(fleet.hosts, 1)]),
        Family("oomaudit_fleet_rule_hosts", GAUGE, "Hosts of the fleet each rule fires on.",
               [({"rule": s.rule}, len(s.hosts)) for s in fleet.rules.values()]),
        Family("oomaudit_fleet_hosts", GAUGE, "Hosts whose report the fleet view read.",
               [({}, len(fleet.hosts))]),
        Family("oomaudit_fleet_files_skipped", GAUGE,
               "Report files or host folders the fleet view could not read (see its notices).",
               [({}, fleet.skipped)]),
    ]
    return exposition([*host_families(fleet.metrics or []), *own])
