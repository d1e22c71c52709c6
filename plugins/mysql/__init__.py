"""MYSQL001-MYSQL003: MySQL/MariaDB memory settings against the host's RAM.

A *server* is what one mysqld reads: on a host, /etc/my.cnf then /etc/mysql/my.cnf
(or a running server's ``--defaults-file``) with every file they include; in a
config repository, each option file that no other given file includes. Its
options are evaluated as the server in effect (flavour and version) would
(``oomaudit.parsers.mysql_values``), and its worst case, summed as MySQLTuner
does, goes into the host's memory ledger.

This module only registers (it is what the entry point names, and every run imports
it); the code lives beside it, imported when there is work: ``optionfiles`` (which
files make a server), ``flavour`` (which server reads them), ``servers`` (the two
assembled), ``budget`` (the worst case and the ledger) and ``rules`` (the checks).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PLUGIN, READER

CHECKS = "oomaudit.plugins.mysql.rules"


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # In a config repository the servers are the given option files, so without one
    # there is nothing to add; a live host or a --root tree finds its servers itself
    # (running mysqld, /etc/my.cnf), whatever discovery read.
    if host.given_none_of(PLUGIN):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    # Each rule loops over servers(), which in a config repository are the given option
    # files only: with none, the rule yields nothing (the web tier it also weighs is only
    # looked at for a server), so it may be passed unread.
    return make_rules(checks_in(CHECKS, "MYSQL001", "MYSQL002", "MYSQL003"),
                      "mysql.toml", reads=(PLUGIN,))
