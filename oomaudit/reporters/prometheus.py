"""``--format prometheus``: the node_exporter textfile collector's format (Prometheus text
exposition 0.0.4), for periodic scans that Prometheus scrapes and alerts on
(contrib/prometheus/oomaudit-alerts.yml, docs/periodic-scans.md).

The metrics are computed from the JSON report (``json_format.as_dict``), not from the
in-memory one, so that a command holding only JSON reports (a fleet's, fetched from many
hosts) turns each into the same families with :func:`families` and writes them together
with :func:`exposition`.

Every sample has a ``host`` label and no timestamp (the textfile collector refuses
timestamps); sizes are bytes and times Unix seconds, as Prometheus' conventions want.
Write it with ``-o``: the report is written to a temporary file in the same directory
and renamed, so the collector never reads half a file.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import NamedTuple

from ..host import terminal
from ..report import Report

GAUGE = "gauge"  # every metric here is a level the last audit saw, never a running count
KILLS_TABLE = "oom_kills"  # what plugins/klog/events.py records: process, kills, last kill


class Family(NamedTuple):
    """One metric: its name, ``gauge`` or ``counter``, a HELP text, and samples as
    (labels, value). Label sets must differ within a family."""

    name: str
    kind: str
    help: str
    samples: list[tuple[dict[str, str], float]]


def render(report: Report, color: bool) -> str:
    from .json_format import as_dict

    return exposition(families(as_dict(report)))


class HostMetrics(NamedTuple):
    """What one host's families are made of, counted once: from a JSON report here
    (:func:`hosts_of`), from the values a fleet checked in ``oomaudit fleet``."""

    name: str
    run: int | None  # Unix seconds of the audit
    success: int  # 0 when a plugin or rule failed
    findings: dict[tuple[str, str], int]  # (rule, severity) -> how many
    checked: int  # rules run
    skipped: int
    ledger: dict[tuple[str, str], int]  # (service, plugin) -> worst-case bytes
    ram: int | None
    swap: int | None
    kills: list[tuple[str, int, int | None]]  # (process, kills, last kill in Unix seconds)


def families(doc: dict) -> list[Family]:
    """The metric families of one JSON report (``oomaudit/report.schema.json``)."""
    return host_families(hosts_of(doc))


def hosts_of(doc: dict) -> list[HostMetrics]:
    run = epoch(doc.get("generated_at"))
    success = 0 if doc["errors"] else 1
    findings = Counter((f["host"], f["rule"], f["severity"]) for f in doc["findings"])
    status = Counter((r["host"], r["status"]) for r in doc["rules"])
    out = []
    for h in doc["hosts"]:
        name, facts = h["name"], h["facts"]
        ledger: Counter = Counter()
        for consumer in h["ledger"]:  # two pools of one service are one series
            ledger[(consumer["service"], consumer.get("plugin") or "")] += consumer["bytes"]
        ram, swap = (facts[key]["value"] if isinstance(facts.get(key, {}).get("value"), int)
                     else None for key in ("ram", "swap"))
        kills = [(process, count, epoch(last)) for process, count, last in
                 _columns(h.get("tables", {}).get(KILLS_TABLE), "process", "kills", "last kill")]
        out.append(HostMetrics(
            name, run, success,
            {(r, s): n for (host, r, s), n in findings.items() if host == name},
            sum(n for (host, _), n in status.items() if host == name), status[(name, "skipped")],
            dict(ledger), ram, swap, kills))
    return out


def host_families(hosts: list[HostMetrics]) -> list[Family]:
    """The families of these hosts, each family holding every host's samples."""
    def family(name: str, help: str, samples) -> Family:
        return Family(name, GAUGE, help, list(samples))

    return [
        family("oomaudit_last_run_timestamp_seconds",
               "When oomaudit last audited this host (Unix time).",
               (({"host": h.name}, h.run) for h in hosts if h.run is not None)),
        family("oomaudit_last_run_success",
               "1 when the audit completed (exit 0 or 1), 0 when a plugin or rule failed "
               "(exit 2).", (({"host": h.name}, h.success) for h in hosts)),
        family("oomaudit_findings", "Findings of the last audit, by rule and severity.",
               (({"host": h.name, "rule": r, "severity": s}, n) for h in hosts
                for (r, s), n in sorted(h.findings.items()))),
        family("oomaudit_rules_checked", "Rules the last audit ran on this host.",
               (({"host": h.name}, h.checked) for h in hosts)),
        family("oomaudit_rules_skipped",
               "Rules that could not run on this host (a fact unknown, no permission).",
               (({"host": h.name}, h.skipped) for h in hosts)),
        family("oomaudit_ledger_worst_case_bytes",
               "Worst-case memory of each service in the memory ledger; sum by host to compare "
               "with oomaudit_ram_bytes.",
               (({"host": h.name, "service": s, "plugin": p}, n) for h in hosts
                for (s, p), n in sorted(h.ledger.items()))),
        family("oomaudit_ram_bytes",
               "RAM as the audit saw it (measured, a cgroup limit, or declared).",
               (({"host": h.name}, h.ram) for h in hosts if h.ram is not None)),
        family("oomaudit_swap_bytes", "Swap as the audit saw it (measured or declared).",
               (({"host": h.name}, h.swap) for h in hosts if h.swap is not None)),
        family("oomaudit_oom_kills",
               "OOM kills the kernel logged in the audit's window (--since last: since the "
               "previous scan), by victim process.",
               (({"host": h.name, "process": p}, n) for h in hosts for p, n, _ in h.kills)),
        family("oomaudit_last_oom_kill_timestamp_seconds",
               "When the kernel last OOM-killed this process (Unix time; undated kills have "
               "none).",
               (({"host": h.name, "process": p}, when) for h in hosts
                for p, _, when in h.kills if when is not None)),
    ]


def _columns(table: dict | None, *names: str) -> Iterable[tuple]:
    """These columns of a report table, row by row (none when the table is absent)."""
    if not table:
        return ()
    index = [table["columns"].index(name) for name in names]
    return (tuple(row[i] for i in index) for row in table["rows"])


def epoch(text: object) -> int | None:
    """Unix seconds of an RFC 3339 time (``...Z`` or ``...+00:00``); None when undated."""
    if not isinstance(text, str):
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def exposition(metrics: Iterable[Family]) -> str:
    """The text exposition of these families; families of one name (one per report of a
    fleet) are written as one, with the first one's HELP and type. Families without
    samples are left out (a HELP line alone is noise)."""
    merged: dict[str, Family] = {}
    for family in metrics:
        if family.name in merged:
            merged[family.name].samples.extend(family.samples)
        else:
            merged[family.name] = family._replace(samples=list(family.samples))
    lines = []
    for family in merged.values():
        if not family.samples:
            continue
        lines += [f"# HELP {family.name} {_escaped(family.help)}",
                  f"# TYPE {family.name} {family.kind}"]
        for labels, value in family.samples:
            pairs = ",".join(f'{key}="{text}"' for key, text in
                             ((k, _escaped(str(v), '"')) for k, v in labels.items()))
            lines.append(f"{family.name}{{{pairs}}} {_number(value)}" if pairs
                         else f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n" if lines else ""


@cache  # a fleet writes each host's name into a dozen families: escape it once
def _escaped(text: str, quote: str = "") -> str:
    r"""Text as the format escapes it: ``\\`` (and ``\"`` in a label value). A line break or
    other control character (a process name from a hostile log) is first made the visible
    text a terminal shows (``host.terminal``: ``\n``, ``\x1b``), so that ``cat`` of the file
    never runs it; lone surrogates become U+FFFD, as UTF-8 cannot carry them."""
    text = terminal(text).replace("\\", "\\\\")
    return text.replace(quote, "\\" + quote) if quote else text


def _number(value: float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(int(value))
