"""SYSTEMD001-007: how systemd protects or caps services (OOMScoreAdjust, MemoryMax/High).

Units are merged the way systemd 252 loads them (oomaudit.parsers.systemd_tree on a
host, systemd_repo in a config repository); the merged set is kept in
``host.cache["systemd.units"]`` (a ``UnitSet``) so other plugins can ask, say, whether
``mariadb.service`` is capped by ``MemoryMax`` (``unit.memory("MemoryMax").value.resolve(
ram)``). A cap is a fact about the service, not a consumer: it is not added to the memory
ledger, which holds each service's own worst case. In a config repository without unit
files the entry stays unset (``host.cache.get`` is None).

This module only registers (it is what the entry point names, and every run imports
it); the code lives beside it, imported when there is work: ``units`` (the host's merged
units and the CONF findings on their lines), ``dropins`` (the drop-in every fix writes),
``oomscore`` (SYSTEMD001-004, OOMScoreAdjust), ``caps`` (SYSTEMD005-006, memory caps),
``limits`` (SYSTEMD007, a cap below the service inside; the caps the ledger counts) and
``services`` (which ledger service a unit runs).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PLUGIN, READER

OOMSCORE = "oomaudit.plugins.systemd.oomscore"
CAPS = "oomaudit.plugins.systemd.caps"
LIMITS = "oomaudit.plugins.systemd.limits"


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from .units import collect

    collect(host)


@hookimpl
def oomaudit_budget(host):
    """Merge the host's units (CONF001/CONF003 for what systemd would reject). A live host
    or a tree is read from its unit directories whatever was discovered; a config
    repository has only the unit files it was given, and without any the merge is empty."""
    if host.given_none_of(PLUGIN):
        return
    from .limits import caps
    from .units import budget

    budget(host)
    host.ledger.capped_by(lambda: caps(host))  # once the other plugins filled the ledger


@hookimpl
def oomaudit_rules():
    # In a config repository every rule looks only at the units merged from the given unit
    # files (SYSTEMD002 asks the ledger which service to look for, then looks there).
    return make_rules({**checks_in(OOMSCORE, "SYSTEMD001", "SYSTEMD002", "SYSTEMD003",
                                   "SYSTEMD004"),
                       **checks_in(CAPS, "SYSTEMD005", "SYSTEMD006"),
                       **checks_in(LIMITS, "SYSTEMD007")},
                      "systemd.toml", reads=(PLUGIN,))
