"""PG001-PG002: PostgreSQL's memory settings against the host's RAM.

Each cluster is its main postgresql.conf with everything the server reads after it
(includes, conf.d, the data directory's postgresql.auto.conf), evaluated by
``oomaudit.parsers.pgcluster`` as the server would. On a live host the running postmasters
say which file they really use (``-D``, ``config_file=``) and how much they hold (RSS).

This module only registers (it is what the entry point names, and every run imports
it); the code lives beside it, imported when there is work: ``clusters`` (what a cluster
is), ``postmasters`` (the live servers), ``budget`` (the worst case and the ledger) and
``rules`` (the checks).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PLUGIN, READER

CHECKS = "oomaudit.plugins.postgresql.rules"


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from .postmasters import collect

    collect(host)


@hookimpl
def oomaudit_budget(host):
    # Clusters are the postgresql documents only (collect has added the live ones by now):
    # without one there is nothing to add, whatever the mode.
    if not host.documents(PLUGIN):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    # Both rules judge clusters(), which are the postgresql documents: none, no finding.
    return make_rules(checks_in(CHECKS, "PG001", "PG002"), "postgresql.toml", reads=(PLUGIN,))
