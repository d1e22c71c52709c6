"""nginx: the web tier's presence (MYSQL001 asks ``host.documents("nginx")``) and its
workers in the memory ledger.

nginx has no rule of its own here: its workers are small and event-driven, so
``worker_processes`` x ``worker_connections`` bounds connections, not memory. What goes
into the ledger is ``worker_processes`` (``auto`` = this host's CPU count, known only on
a live host) x one worker's memory: the measured average RSS of the live workers, else a
16 MiB estimate (an idle worker is a few MiB, mostly shared with the master; busy
connections add their buffers). With ``auto`` offline the count is unknown and nginx is
left out of the ledger rather than guessed.

This module only registers (it is what the entry point names, and every run imports
it); the ledger entry is worked out in ``nginx_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl

PLUGIN = "nginx"
CHECKS = "oomaudit.plugins.nginx_checks"

READER = Reader(
    name=PLUGIN, parse=f"{CHECKS}:NginxFile",
    system_paths=("/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf",
                  "/usr/local/etc/nginx/nginx.conf", "/usr/local/openresty/nginx/conf/nginx.conf"),
    file_patterns=("nginx.conf", "*/nginx/*.conf", "*/nginx/conf.d/*.conf"),
    sniff="oomaudit.parsers.nginx:sniff",
    # the sniffer wants two of these directives or blocks at the start of a line
    sniff_hint=r"^\s*(?:worker_processes|worker_connections|events\s*\{|http\s*\{|"
               r"server\s*\{|upstream\s+\S+\s*\{|location\s+\S)")


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # Every ledger entry comes from a configuration read from an nginx document (the
    # live worker sizes only measure those), so without one there is nothing to add.
    if not host.documents(PLUGIN):
        return
    from . import nginx_checks

    nginx_checks.budget(host)
