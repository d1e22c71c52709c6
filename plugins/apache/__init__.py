"""HTTPD001-HTTPD003: Apache httpd's worker limits against the host's RAM.

A *server* is what one httpd reads: on a host, Debian's /etc/apache2/apache2.conf (with
the variables of /etc/apache2/envvars) or RHEL's /etc/httpd/conf/httpd.conf, or, live,
the ``-d``/``-f``/``-D`` of a running httpd; in a config repository, each file in force
that no other given file includes (of Debian's ``*-available`` folders, what ``*-enabled``
links: ``oomaudit.enabled``). Its configuration is built as httpd builds it
(``oomaudit.parsers.apache_loader``), its MPM limits as the MPM clamps them
(``oomaudit.parsers.apache_mpm``), and its worst case (processes at full load x memory
per process) goes into the host's memory ledger.

This module only registers (it is what the entry point names, and every run imports
it); the code lives in the package's modules, imported when there is work: ``servers``
(each httpd and its configuration), ``mpm`` (the MPM it runs and the settings it reads),
``budget`` (memory per process, the worst case, the ledger), ``rules`` (the checks),
``sniff`` (whether a file is Apache's).
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PLUGIN, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # In a config repository the servers are the given apache files and nothing else; a
    # host or tree also has the distributions' layouts and (live) running httpds, read
    # whether or not they were found as documents, so those always go on.
    if host.given_none_of(PLUGIN):
        return
    from . import budget

    budget.budget(host)


@hookimpl
def oomaudit_rules():
    # In a config repository every check starts from the servers built from the given
    # apache files and yields nothing (asks for no fact) without one.
    return make_rules(checks_in("oomaudit.plugins.apache.rules", "HTTPD001", "HTTPD002",
                                "HTTPD003"), "httpd.toml", reads=(PLUGIN,))
