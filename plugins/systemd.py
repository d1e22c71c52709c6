"""SYSTEMD001-006: how systemd protects or caps services (OOMScoreAdjust, MemoryMax/High).

Units are merged the way systemd 252 loads them (oomaudit.parsers.systemd_units); the
merged set is kept in ``host.cache["systemd.units"]`` (a ``UnitSet``) so other plugins
can ask, say, whether ``mariadb.service`` is capped by ``MemoryMax`` (``unit.memory(
"MemoryMax").value.resolve(ram)``). A cap is a fact about the service, not a consumer:
it is not added to the memory ledger, which holds each service's own worst case. In a
config repository without unit files the entry stays unset (``host.cache.get`` is None).

This module only registers (it is what the entry point names, and every run imports
it); the reader, the checks and the unit merge live in ``systemd_checks``, imported
when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

CHECKS = "oomaudit.plugins.systemd_checks"

# oomaudit.parsers.systemd_units.SEARCH_PATH, written out: importing the unit parser
# would cost every run. tests/test_systemd_parser.py asserts the two agree.
_SEARCH_PATH = (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
    "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
    "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
)

# Module-level: systemd_checks reads the unit files of a host's tree with this same reader.
READER = Reader(
    name="systemd",
    parse=f"{CHECKS}:parse_source",
    system_paths=tuple(p for d in _SEARCH_PATH for p in (
        f"{d}/*.service", f"{d}/*.service.d/*.conf", f"{d}/service.d/*.conf")),
    file_patterns=("*.service", "*.service.d/*.conf", "*.service.d__*.conf"),
    sniff="oomaudit.parsers.systemd:looks_like_unit",
    # the sniffer wants a line that is only a [Unit], [Service] or [Install] header; a
    # lone \r also ends a line for systemd, and the file may start with a BOM
    sniff_hint=r"(?:^|\r)\ufeff*[ \t]*\[(?:Unit|Service|Install)\][ \t]*(?:\r|$)",
    comment_prefixes=("#", ";"),
)


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from . import systemd_checks

    systemd_checks.collect(host)


@hookimpl
def oomaudit_budget(host):
    """Merge the host's units (CONF001/CONF003 for what systemd would reject). A live host
    or a tree is read from its unit directories whatever was discovered; a config
    repository has only the unit files it was given, and without any the merge is empty."""
    if host.given_none_of("systemd"):
        return
    from . import systemd_checks

    systemd_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # In a config repository every rule looks only at the units merged from the given unit
    # files (SYSTEMD002 asks the ledger which service to look for, then looks there).
    return make_rules(checks_in(CHECKS, "SYSTEMD001", "SYSTEMD002", "SYSTEMD003", "SYSTEMD004",
                                "SYSTEMD005", "SYSTEMD006"), "systemd.toml", reads=("systemd",))
