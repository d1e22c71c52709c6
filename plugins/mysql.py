"""MYSQL001-MYSQL003: MySQL/MariaDB memory settings against the host's RAM.

A *server* is what one mysqld reads: on a host, /etc/my.cnf then /etc/mysql/my.cnf
(or a running server's ``--defaults-file``) with every file they include; in a
config repository, each option file that no other given file includes. Its
options are evaluated as the server in effect (flavour and version) would
(``oomaudit.parsers.mysql_values``), and its worst case, summed as MySQLTuner
does, goes into the host's memory ledger.

This module only registers (it is what the entry point names, and every run imports
it); the checks live in ``mysql_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

PLUGIN = "mysql"
CHECKS = "oomaudit.plugins.mysql_checks"
DEFAULT_FILES = ("/etc/my.cnf", "/etc/mysql/my.cnf")  # the server's search, in order

# A module constant, not built in the hook: mysql_checks hands this very reader to
# mycnf.Loader, so that files reached by !include are read with its comment prefixes.
READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.mycnf:parse_file", system_paths=DEFAULT_FILES,
    file_patterns=("my.cnf", "*[._]my.cnf", "my.ini", "*/mysql/*.cnf", "*/mysql/*/*.cnf",
                   "*/my.cnf.d/*.cnf"),
    sniff="oomaudit.parsers.mycnf:looks_like_mycnf",
    # the sniffer needs a group header it knows; each of them starts with one of these
    sniff_hint=r"^[ \t]*\[(?i:mysql|mariadb|client|server|galera)",
    comment_prefixes=("#", ";"))


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
    from . import mysql_checks

    mysql_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # Each rule loops over servers(), which in a config repository are the given option
    # files only: with none, the rule yields nothing (the web tier it also weighs is only
    # looked at for a server), so it may be passed unread.
    return make_rules(checks_in(CHECKS, "MYSQL001", "MYSQL002", "MYSQL003"),
                      "mysql.toml", reads=(PLUGIN,))
