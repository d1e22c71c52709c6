"""FPM001-FPM003: PHP-FPM pools against the host's RAM.

A *configuration* is what one php-fpm master reads: php-fpm.conf with every pool file it
includes (``oomaudit.parsers.phpfpm``), or, in a config repository, each pool file on its
own. A pool's worst case is ``pm.max_children`` x the memory of one child, which comes,
in this order, from the pool's live workers (PSS where readable, else RSS), from the
host profile (``process-sizes = { php-fpm = "80M" }``), or from ``memory_limit`` plus the
interpreter's own base, an upper bound. Every pool's worst case goes into the memory
ledger as service ``php-fpm``; the rules compare with the RAM the other services leave.

This module only registers (it is what the entry point names, and every run imports
it); the checks live in ``phpfpm_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

PLUGIN = "php-fpm"
CHECKS = "oomaudit.plugins.phpfpm_checks"

READER = Reader(
    name=PLUGIN, parse=f"{CHECKS}:FpmFile",
    system_paths=("/etc/php/*/fpm/php-fpm.conf", "/etc/php-fpm.conf", "/etc/php/php-fpm.conf",
                  "/usr/local/etc/php-fpm.conf", "/opt/remi/php*/root/etc/php-fpm.conf"),
    file_patterns=("php-fpm.conf", "*/php-fpm.d/*.conf", "*/fpm/pool.d/*.conf"),
    sniff="oomaudit.parsers.phpfpm:sniff",
    # the sniffer wants a pool key or, under [global], one of php-fpm.conf's own keys
    # (commented or not), each followed by '=' (nginx's 'include x;' is not); the
    # [section] it also wants is common to every INI file
    sniff_hint=r"^[ \t]*;?[ \t]*(?:pm(?:\.[a-z_]+)?|listen(?:\.[a-z_]+)?|"
               r"php_admin_value\[[a-z_.]+\]|request_terminate_timeout|"
               r"include|pid|error_log|process_control_timeout)[ \t]*=",
    comment_prefixes=(";",))


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from . import phpfpm_checks

    phpfpm_checks.collect(host)


@hookimpl
def oomaudit_budget(host):
    # Pools come only from php-fpm documents (on a live host, collect has already added
    # the files the running masters read), so without one there is nothing to add.
    if not host.documents(PLUGIN):
        return
    from . import phpfpm_checks

    phpfpm_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # Every check starts from the pools of the php-fpm documents and yields nothing
    # (asks for no fact) without one.
    return make_rules(checks_in(CHECKS, "FPM001", "FPM002", "FPM003"),
                      "fpm.toml", reads=(PLUGIN,))
