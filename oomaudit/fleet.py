"""``oomaudit fleet DIR``: the reports of many hosts merged into one view of where the OOM
killer goes next.

The layout read is what ``contrib/ansible`` fetches (one folder per inventory host), and what
Ansible's ``fetch`` gives either way:

* ``DIR/HOST/report.json`` and ``DIR/HOST/facts.json``: ``fetch`` with ``flat: yes`` into
  ``DIR/{{ inventory_hostname }}/``;
* ``DIR/HOST/<path on the host>/report.json``, ``facts.json`` beside it: ``fetch`` with
  ``flat: no`` (the default) and ``dest: DIR``;
* ``DIR/HOST.json``: a report alone, fetched flat to one file per host.

HOST is the folder's (or file's) name, i.e. the inventory's name for the machine: a live scan
calls every host "live". A report holding several hosts (``check`` of a repository with
``[[hosts]]`` profiles) gives one row each, named ``HOST/NAME``.

Every file here came from a machine of the fleet and is read as hostile
(``oomaudit/fleetfiles.py``): one that is refused is a notice naming it, and the rest goes
on. Nothing of a report is kept but the few numbers the view needs (``HostRisk``), so 10,000
reports cost a few MiB (``bench/bench_fleet.py``).
"""
from __future__ import annotations

import os
import re
from typing import NamedTuple

from .errors import UsageError
from .fleetfiles import Parsed, Rejected, facts_values, load, report_hosts
from .host import terminal
from .model import Severity
from .record import Record

REPORT, FACTS = "report.json", "facts.json"
MAX_DEPTH = 8  # folders below HOST/ searched for a report fetched with its host's path
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class HostRisk(NamedTuple):
    """What the fleet keeps of one host: enough to rank it and to say why."""

    name: str
    report: str  # the report's path relative to DIR
    facts: str | None  # the facts file's, when one was read
    generated_at: str | None  # when the report was made (its own word)
    ram: int | None
    ram_source: str  # "report" (what its rules used), "facts" (measured), "" (unknown)
    swap: int | None
    worst: int  # the memory ledger's total: every service at its worst at once
    top: tuple[str, int] | None  # the largest consumer in the ledger
    counts: tuple[int, int, int, int, int]  # findings by severity, info to critical
    kills: int  # OOM kills in the report's window (klog's table, or KLOG findings), or the
    # facts' count when larger
    rules: tuple[str, ...]  # the rules that fired, once each
    errors: int  # errors the audit itself recorded: a partial report

    @property
    def ratio(self) -> float | None:
        """The worst case as a share of RAM; None when RAM is unknown."""
        return self.worst / self.ram if self.ram else None

    @property
    def over(self) -> bool:
        return self.ram is not None and self.worst > self.ram

    def risk(self) -> tuple:
        """The ranking, riskiest first when sorted in reverse: a host the OOM killer already
        visits (kills logged), then one where it can (the worst case above RAM, or a critical
        finding), the farther over RAM the sooner; then critical, high, medium and low
        findings; then the share of RAM the worst case takes (the least headroom first)."""
        crit, high, medium, low = self.counts[4], self.counts[3], self.counts[2], self.counts[1]
        ratio = self.ratio or 0.0
        return (self.kills > 0, self.over or crit > 0, ratio if self.over else 0.0,
                crit, high, medium, low, ratio, self.kills)

    def failing(self, fail_on: Severity) -> int:
        return sum(self.counts[fail_on:])


class RuleSpread(Record):
    """One rule across the fleet: how often it fired, its highest severity, on which hosts."""

    def __init__(self, rule: str):
        self.rule = rule
        self.findings = 0
        self.severity = Severity.INFO
        self.hosts: list[str] = []


class Fleet(Record):
    """The merged view: hosts ranked riskiest first, rules by how many hosts they fire on,
    notices for every file that was skipped and why."""

    def __init__(self, directory: str, metrics: bool = False):
        self.directory = directory
        # each host's values for --format prometheus (reporters.prometheus.HostMetrics);
        # None when the format is another
        self.metrics: list | None = [] if metrics else None
        self.hosts: list[HostRisk] = []
        self.rules: dict[str, RuleSpread] = {}
        self.notices: list[str] = []
        self.reports = 0  # report files read
        self.skipped = 0  # report files (or host folders) that gave no host

    def add(self, host: HostRisk, rules: dict[str, tuple[int, Severity]]) -> None:
        """A host, with its findings per rule: (how many, the highest severity)."""
        self.hosts.append(host)
        for rule, (count, severity) in rules.items():
            spread = self.rules.get(rule)
            if spread is None:
                spread = self.rules[rule] = RuleSpread(rule)
            spread.hosts.append(host.name)
            spread.findings += count
            spread.severity = max(spread.severity, severity)

    def rank(self) -> None:
        self.hosts.sort(key=lambda h: h.name)
        self.hosts.sort(key=HostRisk.risk, reverse=True)
        place = {h.name: n for n, h in enumerate(self.hosts)}
        for spread in self.rules.values():
            spread.hosts.sort(key=place.__getitem__)
        order = sorted(self.rules.values(), key=lambda s: s.rule)
        order.sort(key=lambda s: (len(s.hosts), s.severity, s.findings), reverse=True)
        self.rules = {s.rule: s for s in order}

    def counts(self) -> dict[str, int]:
        return {s.label: sum(h.counts[s] for h in self.hosts) for s in Severity}

    def failing(self, fail_on: Severity) -> int:
        return sum(h.failing(fail_on) for h in self.hosts)


def collect(directory: str, metrics: bool = False) -> Fleet:
    """Read every host's report (and facts) under ``directory`` into a ranked Fleet; with
    ``metrics``, also each host's Prometheus metric families."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except NotADirectoryError:
        raise UsageError(f"{terminal(directory)}: not a directory") from None
    except FileNotFoundError:
        raise UsageError(f"{terminal(directory)}: no such directory") from None
    except OSError as exc:
        raise UsageError(f"{terminal(directory)}: {(exc.strerror or str(exc)).lower()}") from None
    fleet = Fleet(terminal(directory), metrics)
    top = os.path.join(directory, "")
    seen: set[str] = set()
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .ansible, .git, editors' files: nobody's report
        if entry.is_dir():
            report = os.path.join(entry.path, REPORT)
            try:  # fetched flat: the common case costs no directory listing
                data = load(report)
            except FileNotFoundError:
                report = _find_report(entry.path, top, fleet.notices)
                if report is None:
                    fleet.notices.append(f"{terminal(entry.name)}/: no {REPORT} inside; no "
                                         "report of this host")
                    fleet.skipped += 1
                    continue
                data = _loaded(report)
            except Rejected as exc:
                data = exc
            facts = os.path.join(os.path.dirname(report), FACTS)
            _read_host(fleet, seen, terminal(entry.name), data, report[len(top):], facts, top)
        elif entry.name.endswith(".json"):
            _read_host(fleet, seen, terminal(entry.name[:-len(".json")]), _loaded(entry.path),
                       entry.name, None, top)
        else:
            fleet.notices.append(f"{terminal(entry.name)}: not a report (the fleet reads "
                                 f"HOST/{REPORT} and HOST.json); skipped")
    fleet.rank()
    return fleet


def _loaded(path: str) -> object:
    """The file's JSON, or the Rejected that says why not."""
    try:
        return load(path)
    except FileNotFoundError:  # gone since it was listed
        return Rejected("no such file")
    except Rejected as exc:
        return exc


def _find_report(folder: str, top: str, notices: list[str]) -> str | None:
    """The shallowest ``report.json`` under a host's folder, fetched with the path it had on
    the host (``flat: no``). A second one at that depth is named, never merged."""
    level, depth = [folder], 0
    while level and depth <= MAX_DEPTH:
        depth += 1
        found, below = [], []
        for path in level:
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as exc:
                notices.append(f"{terminal(path[len(top):])}/: "
                               f"{(exc.strerror or str(exc)).lower()}; skipped")
                continue
            for entry in entries:
                if entry.name == REPORT and not entry.is_dir(follow_symlinks=False):
                    found.append(entry.path)
                elif entry.is_dir(follow_symlinks=False):  # a symlink never leads out
                    below.append(entry.path)
        if found:
            for other in found[1:]:
                notices.append(f"{terminal(other[len(top):])}: a second {REPORT} of this host; "
                               f"{terminal(found[0][len(top):])} was read")
            return found[0]
        level = below
    return None


def _read_host(fleet: Fleet, seen: set[str], name: str, data: object, report: str,
               facts: str | None, top: str) -> None:
    """One report (its JSON, or why it was rejected) and its facts, into the fleet."""
    shown = terminal(report)
    try:
        if isinstance(data, Rejected):
            raise data
        hosts = report_hosts(data)
    except Rejected as exc:
        fleet.notices.append(f"{shown}: {exc}; skipped")
        fleet.skipped += 1
        return
    fleet.reports += 1
    measured = (None, None, None)
    if facts is not None and len(hosts) == 1:  # facts describe one machine
        try:
            measured = facts_values(load(facts))
            facts = terminal(facts[len(top):])
        except FileNotFoundError:
            facts = None
        except Rejected as exc:
            fleet.notices.append(f"{terminal(facts[len(top):])}: {exc}; the report is read "
                                 "without it")
            facts = None
    else:
        facts = None
    errors = len(data["errors"])
    generated = data.get("generated_at")
    if not isinstance(generated, str) or not _TIME.fullmatch(generated):
        generated = None
    for host in hosts:
        full = name if len(hosts) == 1 else f"{name}/{terminal(host.name)}"
        if full in seen:
            fleet.notices.append(f"{shown}: a second report of host '{full}'; skipped")
            fleet.skipped += 1
            continue
        seen.add(full)
        ram, swap, source = host.ram, host.swap, "report" if host.ram is not None else ""
        kills = sum(row[1] for row in host.kill_rows) if host.kill_rows is not None \
            else host.klog[0] or host.klog[1]
        m_ram, m_swap, m_kills = measured
        if ram is None and m_ram is not None:
            ram, source = m_ram, "facts"
        swap = swap if swap is not None else m_swap
        kills = max(kills, m_kills or 0)
        counts = [0] * 5
        rules: dict[str, tuple[int, Severity]] = {}
        for (rule, severity), count in host.findings.items():
            counts[severity] += count
            had, highest = rules.get(rule, (0, severity))
            rules[rule] = (had + count, max(highest, severity))
        largest = max(host.ledger, key=lambda c: c[1], default=None)
        fleet.add(HostRisk(full, shown, facts, generated, ram, source, swap,
                           sum(c[1] for c in host.ledger),
                           largest and (largest[0], largest[1]), tuple(counts), kills,
                           tuple(sorted(rules)), errors), rules)
        if fleet.metrics is not None:
            _add_metrics(fleet.metrics, full, host, ram, swap, generated, errors)


def _add_metrics(metrics: list, name: str, host: Parsed, ram: int | None, swap: int | None,
                 generated: str | None, errors: int) -> None:
    """The host's values for the metric families ``scan --format prometheus`` writes on the
    host, labelled with the fleet's name for it and taken from the values checked here,
    never from the report as it came."""
    from .reporters.prometheus import HostMetrics, epoch

    ledger: dict[tuple[str, str], int] = {}
    for service, size, plugin in host.ledger:  # two pools of one service are one series
        ledger[(service, plugin)] = ledger.get((service, plugin), 0) + size
    metrics.append(HostMetrics(
        name, epoch(generated), 0 if errors else 1,
        {(rule, severity.label): n for (rule, severity), n in host.findings.items()},
        sum(host.statuses.values()), host.statuses.get("skipped", 0),
        ledger, ram, swap,
        [(process, kills, epoch(last)) for process, kills, last in host.kill_rows or ()]))
