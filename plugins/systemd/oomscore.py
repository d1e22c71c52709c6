"""SYSTEMD001-004: the OOMScoreAdjust a unit gives its service. A critical service left at
0 (001), the largest consumer made immune (002), a value systemd ignores (003), and, live,
processes whose oom_score_adj is not their unit's (004).
"""
from __future__ import annotations

import re

from oomaudit import Evidence, Finding, MissingFact
from oomaudit.cnumbers import digits as c_digits
from oomaudit.config import DEFAULT_CRITICAL
from oomaudit.parsers.systemd_units import UnitSet, file_issues
from oomaudit.units import format_size

from .dropins import dropin_fix, files_evidence
from .services import unit_patterns
from .units import read_proc, units_of

PROTECT = -900  # see SYSTEMD001's rationale: -1000 would make SSH sessions unkillable too


# --- SYSTEMD001 -------------------------------------------------------------------------

def check_systemd001(host):
    units = units_of(host)
    patterns = getattr(host.settings, "critical_services", None) or DEFAULT_CRITICAL
    seen = set()
    for pattern in patterns:
        for unit in units.find(pattern):
            if unit.name in seen or not unit.loads:
                continue
            seen.add(unit.name)
            setting = unit.setting("OOMScoreAdjust")
            if setting is not None and setting.value < 0:
                continue
            evidence = [Evidence(f"critical service pattern '{pattern}'",
                                 "settings: critical-services")]
            evidence += files_evidence(unit)
            if setting is None:
                evidence.append(Evidence("OOMScoreAdjust not set: inherits PID 1's 0"))
                where = (unit.fragment.display, None)
                message = (f"critical service {unit.name} has no OOMScoreAdjust: the OOM "
                           "killer treats it like any other process")
            else:
                evidence.append(Evidence(f"OOMScoreAdjust={setting.value}", setting.where))
                where = (setting.file.display, setting.assignment.line)
                message = (f"critical service {unit.name} runs with OOMScoreAdjust="
                           f"{setting.value}: not protected from the OOM killer")
            yield Finding("SYSTEMD001", message, where[0], where[1], evidence,
                          dropin_fix(unit, "OOMScoreAdjust", f"OOMScoreAdjust={PROTECT}"),
                          key=unit.name)


def check_systemd002(host):
    units = units_of(host)
    reported = set()
    for unit, why in _largest_consumers(host, units):
        setting = unit.setting("OOMScoreAdjust")
        if unit.name in reported or setting is None or setting.value != -1000:
            continue
        reported.add(unit.name)
        yield Finding(
            "SYSTEMD002",
            f"{unit.name}, the host's largest memory consumer, is immune to the OOM killer "
            "(OOMScoreAdjust=-1000): the kernel must kill every other process first",
            setting.file.display, setting.assignment.line,
            [*why, Evidence("OOMScoreAdjust=-1000", setting.where)],
            dropin_fix(unit, "OOMScoreAdjust", "OOMScoreAdjust=-500") +
            "\n# and cap it instead: MemoryHigh=/MemoryMax= in the same drop-in (SYSTEMD005)",
            key=unit.name)
    if host.live:
        yield from _live_immune(host, units, reported)


def _largest_consumers(host, units: UnitSet):
    ledger = host.ledger
    services = {c.service for c in ledger.consumers}
    if services:
        largest = max(services, key=ledger.claimed_by)
        why = [Evidence(f"largest consumer in the memory ledger: {largest} "
                        f"{format_size(ledger.claimed_by(largest))}",
                        "; ".join(c.source for c in ledger.consumers if c.service == largest))]
        for pattern in unit_patterns(largest):
            for unit in units.find(pattern):
                yield unit, why
    elif not host.live:
        for pattern in ("mariadb", "mysql", "mysqld", "postgresql@*"):
            for unit in units.find(pattern):
                yield unit, [Evidence("no memory ledger for this host: assumed that the "
                                      "database is its largest consumer")]


def _live_immune(host, units: UnitSet, reported: set):
    from oomaudit.processes import processes
    procs = [p for p in processes(host) if p.rss]
    if not procs:
        return
    top = max(procs, key=lambda p: p.rss)
    if top.oom_score_adj != -1000 or (top.unit and top.unit in reported):
        return
    yield Finding(
        "SYSTEMD002",
        f"the process using the most memory (PID {top.pid} {top.name}, RSS "
        f"{format_size(top.rss)}) is immune to the OOM killer (oom_score_adj -1000)",
        None, None,
        [Evidence(f"PID {top.pid} '{top.title[:80]}' RSS {format_size(top.rss)}, "
                  f"oom_score_adj -1000", f"live: /proc/{top.pid}"),
         Evidence(f"unit: {top.unit or 'none (not started by systemd)'}")],
        dropin_fix(units.units[top.unit], "OOMScoreAdjust", "OOMScoreAdjust=-500")
        if top.unit in units.units else
        f"choom -p {top.pid} -n -500, then remove whatever sets -1000 when it starts",
        key=top.unit or top.name)  # never the PID: it changes with every start


# --- SYSTEMD003: lines systemd ignores ----------------------------------------------------

def check_systemd003(host):
    units = units_of(host)
    for unit_file in units.all_files():
        for issue in file_issues(unit_file):
            a = issue.assignment
            if a.key != "OOMScoreAdjust" or issue.message.startswith("Unknown key"):
                continue
            evidence = [Evidence(f'systemd: "{issue.message}"', f"{unit_file.display}:{a.line}")]
            for unit in units.units.values():
                if unit_file in unit.files():
                    now = unit.setting("OOMScoreAdjust")
                    evidence.append(Evidence(
                        f"{unit.name} runs with OOMScoreAdjust={now.value}" if now else
                        f"{unit.name} runs with no OOMScoreAdjust (inherits 0)",
                        now.where if now else ""))
            yield Finding(
                "SYSTEMD003",
                f"OOMScoreAdjust={a.value} is ignored by systemd ({issue.message.split(',')[0]})",
                unit_file.display, a.line, evidence,
                f"OOMScoreAdjust={_suggest(a.value)}" +
                (" (alone on its line: move the comment to a line of its own above)"
                 if re.search("[#;]", a.value) else ""), key=a.key)


def _suggest(value: str) -> str:
    """The integer the author most likely meant, inside -1000..1000 (never -1000 itself)."""
    m = re.match(r"\s*([+-]?)(\d+)", value)
    number = (-1 if m.group(1) == "-" else 1) * c_digits(m.group(2)) if m else -500
    return str(max(-900, min(1000, number)))


# --- SYSTEMD004: live oom_score_adj against the unit --------------------------------------

def check_systemd004(host):
    if not units_of(host).units:  # no unit read: nothing to compare, nothing to skip
        return
    if not host.live:
        raise MissingFact("live processes", "only `oomaudit scan` of the running host sees them")
    from oomaudit.processes import processes
    units = units_of(host)
    by_unit: dict[str, list] = {}
    for proc in processes(host):
        if proc.unit and proc.oom_score_adj is not None:
            by_unit.setdefault(proc.unit, []).append(proc)
    inherited = read_proc("/proc/1/oom_score_adj")
    for name, procs in sorted(by_unit.items()):
        unit = next((u for u in units.units.values() if name in u.names), None)
        if unit is None:
            continue
        setting = unit.setting("OOMScoreAdjust")
        expected = setting.value if setting else int(inherited or 0)
        odd = [p for p in procs if p.oom_score_adj != expected and not _adjusts_itself(p)]
        if not odd:
            continue
        shown = ", ".join(f"PID {p.pid} {p.name}={p.oom_score_adj}" for p in odd[:5])
        yield Finding(
            "SYSTEMD004",
            f"{name}: {len(odd)} process(es) run with an oom_score_adj other than the unit's "
            f"{expected} ({shown}); set by hand, lost at the next restart",
            None, None,
            [Evidence(shown, "live: /proc/PID/oom_score_adj"),
             Evidence(f"unit OOMScoreAdjust={expected}",
                      setting.where if setting else "not set: inherits PID 1's value")],
            dropin_fix(unit, "OOMScoreAdjust", f"OOMScoreAdjust={odd[0].oom_score_adj}")
            + "\n# or, if the unit's value is the one you want: restart it", key=name)


def _adjusts_itself(proc) -> bool:
    """OpenSSH on Linux moves its listener to -1000 itself (oom_adjust_setup)."""
    return proc.name == "sshd" and proc.oom_score_adj == -1000
