"""SYSTEMD005-006: memory caps. A memory-heavy service (a database, PHP-FPM, a web server,
a JVM) that runs without MemoryMax/MemoryHigh (005), and the deprecated cgroup-v1
MemoryLimit= (006).
"""
from __future__ import annotations

import fnmatch

from oomaudit import Evidence, Finding
from oomaudit.parsers.systemd_units import file_issues

from .dropins import dropin_fix, files_evidence
from .services import unit_patterns
from .units import units_of

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
            [Evidence(f"{kind}: {why}"), *files_evidence(unit)[:1],
             Evidence("MemoryMax, MemoryHigh and MemoryLimit unset or infinity")],
            dropin_fix(unit, "MemoryMax", f"MemoryHigh={high}", f"MemoryMax={top}",
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


# --- SYSTEMD006: the deprecated MemoryLimit= -------------------------------------------

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
