"""A host's report and facts file as the fleet reads them: hostile files from the machines of
a fleet. A file that is not a regular file, larger than ``MAX_BYTES``, not JSON, nested
without end, or not an oomaudit report (facts) of a schema this version reads is refused
with the reason (``Rejected``, a notice naming it in the fleet); every value the fleet uses
is checked here, so a report is rejected whole, never half read.
"""
from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter

from .host import terminal
from .model import Severity
from .record import Record
from .units import format_size

MAX_BYTES = 64 << 20  # a live host's report is tens of KiB; a repository's a few MiB
REPORT_SCHEMAS = (1, 2)  # report.schema.json versions read; fields used are in both
FACTS_SCHEMAS = (1,)  # facts.schema.json's
_RULE_ID = re.compile(r"[A-Z][A-Z0-9_-]{0,63}")
_STATUSES = ("passed", "failed", "skipped", "error")
KILLS, KILL_COLUMNS = "oom_kills", ("process", "kills", "last kill")  # the klog plugin's table
_SEVERITIES = {s.label: s for s in Severity}
# KLOG001 groups kills per process: "mysqld killed by the OOM killer 3x in 30 days, ..."
_KLOG001 = re.compile(r"killed by the OOM killer (?:once|(\d+)x) ")
_KLOG002 = re.compile(r" killed (\d+)x by a memory-cgroup OOM")


class Rejected(Exception):
    """A file that is not what the fleet reads; the message says why, for the notice."""


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


class Parsed(Record):
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


def report_hosts(data: object) -> list[Parsed]:
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
    hosts: dict[str, Parsed] = {}
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
        hosts[name] = Parsed(name, _size(facts.get("ram"), f"hosts[{n}].facts.ram"),
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


def _host_of(hosts: dict[str, Parsed], item: dict, where: str) -> Parsed:
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


def facts_values(data: object) -> tuple[int | None, int | None, int | None]:
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
