"""SYSTEMD001-SYSTEMD006 and the merged units kept in ``host.cache``: the code behind
``systemd.py``, which registers it and says what other plugins may ask of the merged
set. Imported only when there is something to check.
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from oomaudit import Evidence, Finding, MissingFact
from oomaudit.config import DEFAULT_CRITICAL
from oomaudit.host import FILES, LIVE
from oomaudit.parsers.systemd import (
    AUDITED_KEYS,
    TYPE_SECTIONS,
    parse_unit,
)
from oomaudit.parsers.systemd_units import (
    UnitFile,
    UnitSet,
    file_issues,
    from_files,
    from_tree,
    logical_path,
    owner_of,
    unit_type,
)
from oomaudit.reading import Source
from oomaudit.units import format_size

from .systemd import READER

CACHE = "systemd.units"
PROTECT = -900  # see SYSTEMD001's rationale: -1000 would make SSH sessions unkillable too


def parse_source(source: Source) -> UnitFile:
    """A unit file or drop-in, read as the unit type its path names (``x.service``,
    ``x.service.d/y.conf``, flattened ``...__x.service.d__y.conf``)."""
    owner = owner_of(logical_path(source.inside or source.display))
    kind = unit_type(owner) or (owner if owner in TYPE_SECTIONS else None)
    return UnitFile(source.display, source.inside or source.display,
                    parse_unit(source.text, kind), kind, source)


def collect(host):
    comm = _read("/proc/1/comm")
    if comm is not None and comm != "systemd":
        host.note_unreadable(
            "live: systemd units", f"PID 1 is '{comm}', not systemd: unit files were read from "
            "disk as systemd would load them at boot, but no process runs under a unit, so "
            "live oom_score_adj could not be compared with the units (SYSTEMD004)")


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def budget(host):
    units = units_of(host)
    for unit_file in units.all_files():
        _report_problems(unit_file, units)
    for what, why in units.problems:
        host.note_unreadable(what, why)


def units_of(host) -> UnitSet:
    """The host's merged units, built once per host and cached."""
    if CACHE in host.cache:
        return host.cache[CACHE]
    parsed = {doc.source.path: doc for doc in host.documents("systemd")
              if getattr(doc, "source", None) is not None}
    if host.mode == FILES:
        units = from_files([(doc.display, doc) for doc in parsed.values()])
    else:
        def read(real: Path, inside: str) -> UnitFile | None:
            if real not in parsed:
                source = host.read(real, READER)
                if source is None:
                    return None
                parsed[real] = parse_source(source)
            return parsed[real]
        units = from_tree(host.root, read, _known_instances(host))
    host.cache[CACHE] = units
    return units


def _known_instances(host) -> tuple[str, ...]:
    """Instances no unit directory names: Debian's postgresql-generator makes
    ``postgresql@V-C.service`` for each /etc/postgresql/V/C at boot; live, every unit a
    process runs in."""
    names = set()
    folder = host.resolve("/etc/postgresql")
    if folder is not None:
        names.update(f"postgresql@{conf.parent.parent.name}-{conf.parent.name}.service"
                     for conf in folder.glob("*/*/postgresql.conf"))
    if host.mode == LIVE:
        from oomaudit.processes import processes
        names.update(p.unit for p in processes(host) if p.unit)
    return tuple(sorted(names))


def _report_problems(unit_file: UnitFile, units: UnitSet) -> None:
    """Syntax the unit reader met becomes CONF001 on the file (once per file)."""
    source = unit_file.source
    if source is None:
        return
    for line, message in unit_file.text.problems:  # no directive: the line is the key
        source.problem("CONF001", line, f"systemd: {message}",
                       key=source.line_text(line))
    if unit_file.text.fatal:
        line, message = unit_file.text.fatal
        names = ", ".join(u.name for u in units.units.values() if unit_file in u.files())
        source.problem("CONF001", line, f"systemd: {message}: systemd stops reading here and "
                       f"refuses to load {names or 'the unit'} (load state 'error')",
                       fix="close the section header with ']' and use only letters, digits "
                           "and dashes in it", key=source.line_text(line))
    for issue in file_issues(unit_file):
        if issue.message.startswith(("Unknown key", "Invalid memory limit", "Memory limit")):
            source.problem("CONF001", issue.assignment.line, f"systemd: {issue.message}",
                           fix=_value_fix(issue, unit_file), key=issue.assignment.key)


def _value_fix(issue, unit_file: UnitFile) -> str:
    a = issue.assignment
    if issue.message.startswith("Unknown key"):
        right = next(k for k in AUDITED_KEYS if k.lower() == a.key.lower())
        section = TYPE_SECTIONS.get(unit_file.kind or "service", "Service")
        return f"{right}={a.value} under [{section}] (keys are case-sensitive)"
    if "$" in a.value:
        return (f"write the size itself ({a.key}=4G): systemd expands $VARIABLES only in "
                "Exec*= command lines")
    return (f"{a.key}= takes bytes with an upper-case K, M, G, T suffix (1024-based), a "
            "percentage of RAM or 'infinity', and nothing else on the line")


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
            evidence += _files_evidence(unit)
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
                          _dropin_fix(unit, "OOMScoreAdjust", f"OOMScoreAdjust={PROTECT}"),
                          key=unit.name)


def _files_evidence(unit) -> list[Evidence]:
    found = [Evidence(f"unit {unit.name}" + (f" (alias {', '.join(unit.aliases)})"
                                             if unit.aliases else ""), unit.fragment.display)]
    found += [Evidence("drop-in", f.display) for f in unit.dropins]
    if not unit.dropins:
        found.append(Evidence("no drop-in applies to it"))
    return found


def _dropin_fix(unit, key: str, *lines: str, name: str = "oom.conf") -> str:
    """Shell lines writing a drop-in that wins: named to sort after every drop-in that
    already sets ``key``. When the admin's own file in /etc sets it, edit that line."""
    current = unit.setting(key)
    if current is not None and current.file.inside.startswith("/etc/systemd/") and \
            len(lines) == 1:
        return (f"# in {current.file.inside}, line {current.assignment.line}:\n{lines[0]}\n"
                f"systemctl daemon-reload\nsystemctl restart {unit.name}")
    setters = sorted(f.basename for f in unit.dropins
                     if any(a.key == key for a in f.text.assignments))
    if any(b >= name for b in setters):
        name = f"zz-{name}"
    section = TYPE_SECTIONS.get(unit.kind, "Service")
    folder = f"/etc/systemd/system/{unit.name}.d"
    body = "\n".join((f"[{section}]", *lines))
    return (f"mkdir -p {folder}\n"
            f"cat > {folder}/{name} <<'EOF'\n{body}\nEOF\n"
            "systemctl daemon-reload\n"
            f"systemctl restart {unit.name}")


# --- SYSTEMD002 -------------------------------------------------------------------------

_SERVICE_UNITS = (
    (("mysql", "mariadb"), ("mariadb", "mysql", "mysqld")),
    (("postgres",), ("postgresql@*", "postgresql")),
    (("php", "fpm"), ("php*-fpm", "php-fpm")),
    (("apache", "httpd"), ("apache2", "httpd")),
)


def unit_patterns(service: str) -> tuple[str, ...]:
    """The unit names a ledger service (``mysql``, ``php-fpm``) runs as."""
    lowered = service.lower()
    for keys, patterns in _SERVICE_UNITS:
        if any(k in lowered for k in keys):
            return patterns
    return (service,)


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
            _dropin_fix(unit, "OOMScoreAdjust", "OOMScoreAdjust=-500") +
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
        _dropin_fix(units.units[top.unit], "OOMScoreAdjust", "OOMScoreAdjust=-500")
        if top.unit in units.units else
        f"choom -p {top.pid} -n -500, then remove whatever sets -1000 when it starts",
        key=top.unit or top.name)  # never the PID: it changes with every start


# --- SYSTEMD003 / SYSTEMD006: lines systemd ignores or warns about ------------------------

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
    m = re.match(r"\s*([+-]?\d+)", value)
    number = int(m.group(1)) if m else -500
    return str(max(-900, min(1000, number)))


def check_systemd006(host):
    units = units_of(host)
    for unit_file in units.all_files():
        for issue in file_issues(unit_file):
            a = issue.assignment
            if a.key != "MemoryLimit" or not issue.message.startswith("Unit uses"):
                continue
            yield Finding(
                "SYSTEMD006",
                f"MemoryLimit={a.value} is deprecated (cgroup v1); use MemoryMax=",
                unit_file.display, a.line,
                [Evidence(f'systemd: "{issue.message}"', f"{unit_file.display}:{a.line}")],
                f"MemoryMax={a.value}", key=a.key)


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
    inherited = _read("/proc/1/oom_score_adj")
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
            _dropin_fix(unit, "OOMScoreAdjust", f"OOMScoreAdjust={odd[0].oom_score_adj}")
            + "\n# or, if the unit's value is the one you want: restart it", key=name)


def _adjusts_itself(proc) -> bool:
    """OpenSSH on Linux moves its listener to -1000 itself (oom_adjust_setup)."""
    return proc.name == "sshd" and proc.oom_score_adj == -1000


# --- SYSTEMD005: heavy services without a cap -------------------------------------------

_HEAVY_BINARIES = {
    "database": ("mysqld", "mariadbd", "mysqld_safe", "mariadbd-safe", "postgres", "postmaster",
                 "pg_ctl", "pg_ctlcluster", "mongod", "redis-server", "valkey-server",
                 "clickhouse-server", "influxd"),
    "PHP-FPM": ("php-fpm*", "php*-fpm"),
    "web server": ("apache2", "apachectl", "apache2ctl", "httpd"),
    "JVM": ("java",),
}
_HEAVY_NAMES = {
    "database": ("mysql*", "mariadb*", "postgresql*", "mongod*", "redis*", "clickhouse*"),
    "PHP-FPM": ("php*-fpm*", "php-fpm*"),
    "web server": ("apache2*", "httpd*"),
    "JVM": ("tomcat*", "elasticsearch*", "opensearch*", "kafka*", "jenkins*", "cassandra*",
            "solr*"),
}
_TRIVIAL = ("true", "false", "echo", "sleep")


def heavy_kind(unit) -> tuple[str, str] | None:
    """(kind, why) when the unit runs a memory-heavy service: by a binary its ExecStart
    runs (also behind wrappers: ``sh -c "exec /usr/sbin/mariadbd"``, ``numactl ...
    mysqld``), else by its name unless ExecStart is a no-op such as ``/bin/true``."""
    starts = unit.values("ExecStart")
    if starts:
        unit_file, a = starts[0]
        words = [w.strip("\"';").rsplit("/", 1)[-1] for w in a.value.lstrip("-@:+!").split()]
        for kind, globs in _HEAVY_BINARIES.items():
            hit = next((w for w in words if any(fnmatch.fnmatchcase(w, g) for g in globs)), None)
            if hit:
                return kind, f"ExecStart runs {hit} ({unit_file.display}:{a.line})"
        if words and words[0] in _TRIVIAL:
            return None
    stem = unit.name.rsplit(".", 1)[0]
    for kind, globs in _HEAVY_NAMES.items():
        if any(fnmatch.fnmatchcase(stem, g) for g in globs):
            return kind, f"unit name {unit.name}"
    return None


def check_systemd005(host):
    units = units_of(host)
    for unit in units.loaded():
        if unit.kind != "service" or unit.is_template:  # not running until instantiated
            continue
        heavy = heavy_kind(unit)
        if heavy is None or any(unit.memory(k) for k in ("MemoryMax", "MemoryHigh",
                                                         "MemoryLimit")):
            continue
        kind, why = heavy
        high, top = _caps(host, unit)
        yield Finding(
            "SYSTEMD005",
            f"{kind} {unit.name} runs without MemoryMax/MemoryHigh: when it grows, the "
            "kernel's OOM killer picks a victim host-wide instead of containing it",
            unit.fragment.display, None,
            [Evidence(f"{kind}: {why}"), *_files_evidence(unit)[:1],
             Evidence("MemoryMax, MemoryHigh and MemoryLimit unset or infinity")],
            _dropin_fix(unit, "MemoryMax", f"MemoryHigh={high}", f"MemoryMax={top}",
                        name="memory.conf"), key=unit.name)


def _caps(host, unit) -> tuple[str, str]:
    """MemoryHigh/MemoryMax to propose: the ledger's worst case for the service (+25% for
    the hard cap), else a share of RAM."""
    ledger = host.ledger
    for service in {c.service for c in ledger.consumers}:
        if any(fnmatch.fnmatchcase(n.rsplit(".", 1)[0], p)
               for p in unit_patterns(service) for n in unit.names):
            worst = ledger.claimed_by(service)
            return _mib(worst), _mib(worst * 5 // 4)
    return "70%", "80%"


def _mib(nbytes: int) -> str:
    return f"{-(-nbytes // (1 << 20))}M"
