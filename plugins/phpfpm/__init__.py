"""FPM001-FPM003: PHP-FPM pools against the host's RAM.

A *configuration* is what one php-fpm master reads: php-fpm.conf with every pool file it
includes (``oomaudit.parsers.phpfpm``), or, in a config repository, each pool file on its
own. A pool's worst case is ``pm.max_children`` x the memory of one child, which comes,
in this order, from the pool's live workers (PSS where readable, else RSS), from the
host profile (``process-sizes = { php-fpm = "80M" }``), or from ``memory_limit`` plus the
interpreter's own base, an upper bound. Every pool's worst case goes into the memory
ledger as service ``php-fpm``; the rules compare with the RAM the other services leave.

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives in modules named for what they hold, imported when there
is work: ``configs`` (what one master reads), ``live`` (running masters and workers),
``sizes`` (the memory of one child), ``phpini`` (memory_limit as PHP reads it),
``budget`` (each pool's worst case) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import PACKAGE, PLUGIN, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from . import live

    live.collect(host)


@hookimpl
def oomaudit_budget(host):
    # Pools come only from php-fpm documents (on a live host, collect has already added
    # the files the running masters read), so without one there is nothing to add.
    if not host.documents(PLUGIN):
        return
    from . import budget

    budget.budget(host)


@hookimpl
def oomaudit_rules():
    # Every check starts from the pools of the php-fpm documents and yields nothing
    # (asks for no fact) without one.
    return make_rules(checks_in(f"{PACKAGE}.rules", "FPM001", "FPM002", "FPM003"),
                      "fpm.toml", reads=(PLUGIN,))
