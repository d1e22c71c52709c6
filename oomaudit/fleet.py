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

Every file here came from a machine of the fleet and is treated as hostile: a file that is
not a regular file, larger than ``MAX_BYTES``, not JSON, nested without end, or not an
oomaudit report of a schema this version reads is a notice naming it, and the rest goes on.
Nothing of a report is kept but the few numbers the view needs (``HostRisk``), so 10,000
reports cost a few MiB (``bench/bench_fleet.py``).
"""
from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from typing import NamedTuple

from .errors import UsageError
from .host import terminal
from .model import Severity
from .record import Record
from .units import format_size

MAX_BYTES = 64 << 20  # a live host's report is tens of KiB; a repository's a few MiB
REPORT_SCHEMAS = (1, 2)  # report.schema.json versions read; fields used are in both
FACTS_SCHEMAS = (1,)  # facts.schema.json's
REPORT, FACTS = "report.json", "facts.json"
MAX_DEPTH = 8  # folders below HOST/ searched for a report fetched with its host's path
_RULE_ID = re.compile(r"[A-Z][A-Z0-9_-]{0,63}")
_STATUSES = ("passed", "failed", "skipped", "error")
KILLS, KILL_COLUMNS = "oom_kills", ("process", "kills", "last kill")  # plugins/klog_checks.py
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_SEVERITIES = {s.label: s for s in Severity}
# KLOG001 groups kills per process: "mysqld killed by the OOM killer 3x in 30 days, ..."
_KLOG001 = re.compile(r"killed by the OOM killer (?:once|(\d+)x) ")
_KLOG002 = re.compile(r" killed (\d+)x by a memory-cgroup OOM")


class Rejected(Exception):
    """A file that is not what the fleet reads; the message says why, for the notice."""


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
        hosts = _report_hosts(data)
    except Rejected as exc:
        fleet.notices.append(f"{shown}: {exc}; skipped")
        fleet.skipped += 1
        return
    fleet.reports += 1
    measured = (None, None, None)
    if facts is not None and len(hosts) == 1:  # facts describe one machine
        try:
            measured = _facts_values(load(facts))
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


def _add_metrics(metrics: list, name: str, host: _Parsed, ram: int | None, swap: int | None,
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


def load(path: str) -> object:
    """A JSON file from the fleet, refused with a reason rather than trusted: only a regular
    file (a FIFO or a device named report.json would block or never end), at most MAX_BYTES,
    UTF-8, and not nested so deep that the parser gives up. A missing file raises
    FileNotFoundError: for the caller to say what that means."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Rejected((exc.strerror or str(exc)).lower()) from None
    with os.fdopen(fd, "rb", buffering=0) as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Rejected("not a regular file")
        if info.st_size > MAX_BYTES:
            raise Rejected(f"larger than the {format_size(MAX_BYTES)} a report may be")
        try:
            raw = fh.readall()
        except OSError as exc:
            raise Rejected((exc.strerror or str(exc)).lower()) from None
    if len(raw) > MAX_BYTES:  # it grew while read
        raise Rejected(f"larger than the {format_size(MAX_BYTES)} a report may be")
    if not raw.strip():
        raise Rejected("empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Rejected("not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise Rejected(f"not JSON ({exc.msg}: line {exc.lineno} column {exc.colno}; "
                       "truncated?)") from None
    except ValueError:  # an integer of more digits than int() converts
        raise Rejected("not JSON oomaudit reads (an integer too long to convert)") from None
    except RecursionError:
        raise Rejected("JSON nested too deep") from None


def _bad(where: str, kind: str) -> Rejected:
    return Rejected(f"{where} is not {kind}")


def _size(value: object, where: str) -> int | None:
    """A size as reports and facts give one, ``{"value": N, "source": ...}``; None when the
    fact is absent or null."""
    if value is None:
        return None
    size = value.get("value") if isinstance(value, dict) else None
    if type(size) is not int or size < 0:  # bool is an int, NaN a float: neither a size
        raise _bad(where, "a size in bytes")
    return size


class _Parsed(Record):
    """One host of a report, its values checked, while the fleet takes what it keeps."""

    def __init__(self, name: str, ram: int | None, swap: int | None,
                 ledger: list[tuple[str, int, str]], kill_rows: list[list] | None):
        self.name = name
        self.ram = ram
        self.swap = swap
        self.ledger = ledger  # (service, bytes, plugin), escaped
        self.kill_rows = kill_rows  # the oom_kills table's [process, kills, last kill]
        self.findings: dict[tuple[str, Severity], int] = {}
        self.klog = [0, 0]  # kills KLOG001 and KLOG002 say, for reports without the table
        self.statuses: dict[str, int] = {}  # rules run on it, by outcome


def _report_hosts(data: object) -> list[_Parsed]:
    """Each host of a report, with its findings counted. Checks the shape of every value
    it uses: a file that is not an oomaudit report is rejected whole, never half read."""
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "oomaudit":
        raise Rejected("not an oomaudit report (no tool.name 'oomaudit')")
    if data.get("command") not in ("scan", "check"):  # `logs`, `facts`, `fleet` JSON
        raise Rejected("an oomaudit JSON file, but not a scan or check report")
    version = data.get("schema_version")
    if type(version) is not int or version not in REPORT_SCHEMAS:
        raise Rejected(f"report schema_version {terminal(repr(version))[:40]}: this oomaudit "
                       f"reads {', '.join(map(str, REPORT_SCHEMAS))}")
    for key in ("hosts", "findings", "rules", "errors"):
        if not isinstance(data.get(key), list):
            raise _bad(key, "a list")
    hosts: dict[str, _Parsed] = {}
    for n, host in enumerate(data["hosts"]):
        if not isinstance(host, dict):
            raise _bad(f"hosts[{n}]", "an object")
        name, facts, ledger = host.get("name"), host.get("facts"), host.get("ledger")
        tables = host.get("tables", {})
        if not isinstance(name, str) or not name:
            raise _bad(f"hosts[{n}].name", "a name")
        if name in hosts:
            raise Rejected(f"hosts[{n}].name {terminal(name)!r} appears twice")
        if not isinstance(facts, dict):
            raise _bad(f"hosts[{n}].facts", "an object")
        if not isinstance(ledger, list):
            raise _bad(f"hosts[{n}].ledger", "a list")
        if not isinstance(tables, dict):
            raise _bad(f"hosts[{n}].tables", "an object")
        consumers = []
        for i, consumer in enumerate(ledger):
            if not isinstance(consumer, dict):
                raise _bad(f"hosts[{n}].ledger[{i}]", "an object")
            size, service = consumer.get("bytes"), consumer.get("service")
            plugin = consumer.get("plugin", "")
            if type(size) is not int or size < 0 or not isinstance(service, str) \
                    or not isinstance(plugin, str):
                raise _bad(f"hosts[{n}].ledger[{i}]", "a service with its bytes")
            consumers.append((terminal(service), size, terminal(plugin)))
        hosts[name] = _Parsed(name, _size(facts.get("ram"), f"hosts[{n}].facts.ram"),
                              _size(facts.get("swap"), f"hosts[{n}].facts.swap"), consumers,
                              _kill_rows(tables.get(KILLS), f"hosts[{n}].tables.{KILLS}"))
    for n, finding in enumerate(data["findings"]):
        if not isinstance(finding, dict):
            raise _bad(f"findings[{n}]", "an object")
        rule, severity = finding.get("rule"), finding.get("severity")
        if not isinstance(rule, str) or not _RULE_ID.fullmatch(rule):
            raise _bad(f"findings[{n}].rule", "a rule id")
        severity = _SEVERITIES.get(severity) if isinstance(severity, str) else None
        if severity is None:
            raise _bad(f"findings[{n}].severity", f"one of {', '.join(_SEVERITIES)}")
        host = _host_of(hosts, finding, f"findings[{n}]")
        host.findings[rule, severity] = host.findings.get((rule, severity), 0) + 1
        if rule in ("KLOG001", "KLOG002"):
            message = finding.get("message")
            if not isinstance(message, str):
                raise _bad(f"findings[{n}].message", "a string")
            host.klog[rule == "KLOG002"] += _kills(rule, message)
    try:  # 36 rule runs a host: counted in C, their few distinct values checked after
        runs = Counter((run["host"], run["status"]) for run in data["rules"])
    except (TypeError, KeyError):
        raise _bad("rules", "a list of rule runs with their host and status") from None
    for (host, status), count in runs.items():
        if status not in _STATUSES:
            raise _bad(f"rules[].status {terminal(repr(status))[:40]}",
                       f"one of {', '.join(_STATUSES)}")
        found = _host_of(hosts, {"host": host}, "rules[]")
        found.statuses[status] = found.statuses.get(status, 0) + count
    return list(hosts.values())


def _host_of(hosts: dict[str, _Parsed], item: dict, where: str) -> _Parsed:
    host = item.get("host")
    found = hosts.get(host) if isinstance(host, str) else None
    if found is None:
        raise Rejected(f"{where}.host names no entry of hosts")
    return found


def _kill_rows(table: object, where: str) -> list[list] | None:
    """The rows of the klog plugin's table of kills by process, checked; None without it."""
    if table is None:
        return None
    columns = table.get("columns") if isinstance(table, dict) else None
    rows = table.get("rows") if isinstance(table, dict) else None
    if not isinstance(columns, list) or not isinstance(rows, list) \
            or not all(c in columns for c in KILL_COLUMNS):
        raise _bad(where, f"a table of {', '.join(KILL_COLUMNS)}")
    at = [columns.index(c) for c in KILL_COLUMNS]
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _bad(f"{where}.rows[{i}]", "a row")
        process, kills, last = (row[j] for j in at)
        if not isinstance(process, str) or type(kills) is not int or kills < 0 \
                or not isinstance(last, str):
            raise _bad(f"{where}.rows[{i}]", "a process, its kills and the last one's time")
        out.append([terminal(process), kills, terminal(last)])
    return out


def _kills(rule: str, message: str) -> int:
    """How many kills a KLOG finding stands for: KLOG001 counts every kill of a process,
    KLOG002 those a memory cgroup's limit caused (so a host's kills are KLOG001's sum, or
    KLOG002's when KLOG001 was not run)."""
    found = (_KLOG001 if rule == "KLOG001" else _KLOG002).search(message)
    return int(found.group(1)) if found and found.group(1) else 1


def _facts_values(data: object) -> tuple[int | None, int | None, int | None]:
    """RAM, swap and the count of OOM kills from ``oomaudit facts`` JSON
    (``oomaudit/facts.schema.json``): what the host itself measured."""
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "oomaudit":
        raise Rejected("not oomaudit facts (no tool.name 'oomaudit')")
    if "command" in data:
        raise Rejected("an oomaudit report, not facts")
    version = data.get("schema_version")
    if type(version) is not int or version not in FACTS_SCHEMAS:
        raise Rejected(f"facts schema_version {terminal(repr(version))[:40]}: this oomaudit "
                       f"reads {', '.join(map(str, FACTS_SCHEMAS))}")
    kills = data.get("oom_kills")
    count = kills.get("count") if isinstance(kills, dict) else None
    if type(count) is not int or count < 0:
        raise _bad("oom_kills.count", "a count")
    return _size(data.get("ram"), "ram"), _size(data.get("swap"), "swap"), count



def _shown(path: str, top: str) -> str:
    return terminal(os.path.relpath(path, top))
