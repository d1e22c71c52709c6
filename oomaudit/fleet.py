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
from typing import NamedTuple

from .errors import UsageError
from .model import Severity
from .record import Record
from .units import format_size

MAX_BYTES = 64 << 20  # a live host's report is tens of KiB; a repository's a few MiB
REPORT_SCHEMAS = (1, 2)  # report.schema.json versions read; fields used are in both
REPORT, FACTS = "report.json", "facts.json"
MAX_DEPTH = 8  # folders below HOST/ searched for a report fetched with its host's path
_RULE_ID = re.compile(r"[A-Z][A-Z0-9_-]{0,63}")
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
    kills: int  # OOM kills in the report's window (KLOG findings, or the facts)
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

    def __init__(self, directory: str):
        self.directory = directory
        self.hosts: list[HostRisk] = []
        self.rules: dict[str, RuleSpread] = {}
        self.notices: list[str] = []
        self.reports = 0  # report files read
        self.skipped = 0  # report files (or host folders) that gave no host

    def add(self, host: HostRisk, severities: dict[str, Severity]) -> None:
        self.hosts.append(host)
        for rule in host.rules:
            spread = self.rules.get(rule)
            if spread is None:
                spread = self.rules[rule] = RuleSpread(rule)
            spread.hosts.append(host.name)
        for rule, (count, severity) in severities.items():
            spread = self.rules[rule]
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


def collect(directory: str) -> Fleet:
    """Read every host's report (and facts) under ``directory`` into a ranked Fleet."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except NotADirectoryError:
        raise UsageError(f"{text(directory)}: not a directory") from None
    except FileNotFoundError:
        raise UsageError(f"{text(directory)}: no such directory") from None
    except OSError as exc:
        raise UsageError(f"{text(directory)}: {(exc.strerror or str(exc)).lower()}") from None
    fleet = Fleet(text(directory))
    seen: set[str] = set()
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .ansible, .git, editors' files: nobody's report
        if entry.is_dir():
            found = _find_report(entry.path, directory, fleet.notices)
            if found is None:
                fleet.notices.append(f"{_shown(entry.path, directory)}/: no {REPORT} "
                                     "inside; no report of this host")
                fleet.skipped += 1
                continue
            facts = os.path.join(os.path.dirname(found), FACTS)
            _read_host(fleet, directory, seen, text(entry.name), found,
                       facts if os.path.lexists(facts) else None)
        elif entry.name.endswith(".json"):
            _read_host(fleet, directory, seen, text(entry.name[:-len(".json")]), entry.path,
                       None)
        else:
            fleet.notices.append(f"{_shown(entry.path, directory)}: not a report (the fleet "
                                 f"reads HOST/{REPORT} and HOST.json); skipped")
    fleet.rank()
    return fleet


def _find_report(folder: str, top: str, notices: list[str]) -> str | None:
    """The shallowest ``report.json`` under a host's folder: at its top when fetched flat,
    under the path it had on the host otherwise. A second one at that depth is named."""
    level, depth = [folder], 0
    while level and depth <= MAX_DEPTH:
        depth += 1
        found, below = [], []
        for path in level:
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError as exc:
                notices.append(f"{_shown(path, top)}/: {(exc.strerror or str(exc)).lower()}; "
                               "skipped")
                continue
            for entry in entries:
                if entry.name == REPORT and not entry.is_dir(follow_symlinks=False):
                    found.append(entry.path)
                elif entry.is_dir(follow_symlinks=False):  # a symlink never leads out
                    below.append(entry.path)
        if found:
            for other in found[1:]:
                notices.append(f"{_shown(other, top)}: a second {REPORT} of this host; "
                               f"{_shown(found[0], top)} was read")
            return found[0]
        level = below
    return None


def _read_host(fleet: Fleet, top: str, seen: set[str], name: str, report: str,
               facts: str | None) -> None:
    shown = _shown(report, top)
    try:
        data = load(report)
        rows = _report_rows(data)
    except Rejected as exc:
        fleet.notices.append(f"{shown}: {exc}; skipped")
        fleet.skipped += 1
        return
    fleet.reports += 1
    measured = None
    if facts is not None:
        try:
            measured = _facts_values(load(facts))
        except Rejected as exc:
            fleet.notices.append(f"{_shown(facts, top)}: {exc}; the report is "
                                 "read without it")
            facts = None
    errors = data.get("errors")
    errors = len(errors) if isinstance(errors, list) else 0
    for host, severities in rows:
        full = name if len(rows) == 1 else f"{name}/{host.name}"
        if full in seen:
            fleet.notices.append(f"{shown}: a second report of host {full!r}; skipped")
            fleet.skipped += 1
            continue
        seen.add(full)
        ram, source, swap, kills = host.ram, host.ram_source, host.swap, host.kills
        if measured is not None and len(rows) == 1:
            m_ram, m_swap, m_kills = measured
            if ram is None and m_ram is not None:
                ram, source = m_ram, "facts"
            swap = swap if swap is not None else m_swap
            kills = max(kills, m_kills or 0)
        fleet.add(host._replace(
            name=full, report=shown, facts=facts and _shown(facts, top),
            ram=ram, ram_source=source, swap=swap, kills=kills, errors=errors), severities)


def load(path: str) -> object:
    """A JSON file from the fleet, refused with a reason rather than trusted: only a regular
    file (a FIFO or a device named report.json would block or never end), at most MAX_BYTES,
    UTF-8, and not nested so deep that the parser gives up."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Rejected((exc.strerror or str(exc)).lower()) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Rejected("not a regular file")
        if info.st_size > MAX_BYTES:
            raise Rejected(f"larger than the {format_size(MAX_BYTES)} a report may be")
        try:
            raw = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise Rejected((exc.strerror or str(exc)).lower()) from None
    if len(raw) > MAX_BYTES:
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


def _field(obj: dict, key: str, kind, where: str):
    value = obj.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Rejected(f"{where}{key} is not {_KINDS.get(kind, 'valid')}")
    return value


_KINDS = {list: "a list", dict: "an object", str: "a string", int: "an integer"}


def _bytes(fact, where: str) -> int | None:
    """A size the report or the facts give: ``{"value": N, ...}`` or N; None when absent."""
    if fact is None:
        return None
    value = fact.get("value") if isinstance(fact, dict) else fact
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Rejected(f"{where} is not a size in bytes")
    return value


def _report_rows(data) -> list[tuple[HostRisk, dict[str, tuple[int, Severity]]]]:
    """Each host of a report as a HostRisk, with its findings counted per rule. Checks the
    shape of every value it uses: a file that is not an oomaudit report is rejected whole,
    never half read."""
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "oomaudit":
        raise Rejected("not an oomaudit report (no tool.name 'oomaudit')")
    if data.get("command") not in ("scan", "check"):  # `logs`, `facts`, `fleet` JSON
        raise Rejected("an oomaudit JSON file, but not a scan or check report")
    version = data.get("schema_version")
    if version not in REPORT_SCHEMAS or isinstance(version, bool):
        raise Rejected(f"report schema_version {text(repr(version))[:40]}: this oomaudit "
                       f"reads {', '.join(map(str, REPORT_SCHEMAS))}")
    generated = data.get("generated_at")
    generated = generated if isinstance(generated, str) and _TIME.fullmatch(generated) else None
    hosts: dict[str, list] = {}
    for n, host in enumerate(_field(data, "hosts", list, "")):
        where = f"hosts[{n}]."
        if not isinstance(host, dict):
            raise Rejected(f"hosts[{n}] is not an object")
        name = _field(host, "name", str, where)
        facts = _field(host, "facts", dict, where)
        ram = _bytes(facts.get("ram"), f"{where}facts.ram")
        swap = _bytes(facts.get("swap"), f"{where}facts.swap")
        worst, top = 0, None
        for i, consumer in enumerate(_field(host, "ledger", list, where)):
            at = f"{where}ledger[{i}]."
            if not isinstance(consumer, dict):
                raise Rejected(f"{at[:-1]} is not an object")
            size = _field(consumer, "bytes", int, at)
            service = _field(consumer, "service", str, at)
            worst += size
            if top is None or size > top[1]:
                top = (service, size)
        if name in hosts:
            raise Rejected(f"{where}name {text(name)!r} appears twice")
        hosts[name] = [ram, swap, worst, top, [0] * 5, 0, 0, {}]
    for n, finding in enumerate(_field(data, "findings", list, "")):
        where = f"findings[{n}]."
        if not isinstance(finding, dict):
            raise Rejected(f"findings[{n}] is not an object")
        rule = _field(finding, "rule", str, where)
        if not _RULE_ID.fullmatch(rule):
            raise Rejected(f"{where}rule is not a rule id")
        severity = finding.get("severity")
        severity = _SEVERITIES.get(severity) if isinstance(severity, str) else None
        if severity is None:
            raise Rejected(f"{where}severity is not one of {', '.join(_SEVERITIES)}")
        row = hosts.get(_field(finding, "host", str, where))
        if row is None:
            raise Rejected(f"{where}host names no entry of hosts")
        row[4][severity] += 1
        count, worst_severity = row[7].get(rule, (0, Severity.INFO))
        row[7][rule] = (count + 1, max(worst_severity, severity))
        if rule in ("KLOG001", "KLOG002"):
            message = _field(finding, "message", str, where)
            kills = _kills(rule, message)
            row[5 if rule == "KLOG001" else 6] += kills
    return [(HostRisk(text(name), "", None, generated, ram, "report" if ram is not None else "",
                      swap, worst, top and (text(top[0]), top[1]), tuple(counts),
                      klog1 or klog2, tuple(sorted(severities)), 0), severities)
            for name, (ram, swap, worst, top, counts, klog1, klog2, severities)
            in hosts.items()]


def _kills(rule: str, message: str) -> int:
    """How many kills a KLOG finding stands for: KLOG001 counts every kill of a process,
    KLOG002 those a memory cgroup's limit caused (so a host's kills are KLOG001's sum, or
    KLOG002's when KLOG001 was not run)."""
    found = (_KLOG001 if rule == "KLOG001" else _KLOG002).search(message)
    return int(found.group(1)) if found and found.group(1) else 1


def _facts_values(data) -> tuple[int | None, int | None, int | None]:
    """RAM, swap and OOM kills from ``oomaudit facts`` JSON (what the host measured)."""
    if not isinstance(data, dict) or not isinstance(data.get("tool"), dict) \
            or data["tool"].get("name") != "oomaudit":
        raise Rejected("not an oomaudit facts file (no tool.name 'oomaudit')")
    ram = _bytes(data.get("ram"), "ram")
    swap = _bytes(data.get("swap"), "swap")
    kills = data.get("oom_kills")
    if isinstance(kills, dict):
        kills = kills.get("count")
    if isinstance(kills, list):
        kills = len(kills)
    if kills is not None and (not isinstance(kills, int) or isinstance(kills, bool)
                              or kills < 0):
        raise Rejected("oom_kills is not a count")
    return ram, swap, kills


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text(value: str) -> str:
    r"""A string from a file or a file name, fit for a terminal and strict JSON: lone
    surrogates (names that are not UTF-8, ``"\ud800"`` in JSON) become U+FFFD, control
    characters and bidirectional overrides ``\x1b``-style escapes, so a host named
    ``"\x1b[2Jweb1"`` cannot clear the operator's screen or reorder what it shows."""
    if not value.isascii():
        try:  # a file name's undecodable bytes, as ``printable`` shows them
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # any other lone surrogate
            raw = value.encode("utf-8", "surrogatepass")
        value = raw.decode("utf-8", "replace")
    return _CONTROL.sub(_escape, value) if _CONTROL.search(value) else value


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _shown(path: str, top: str) -> str:
    return text(os.path.relpath(path, top))
