"""HTTPD001-HTTPD003: Apache httpd's worker limits against the host's RAM.

A *server* is what one httpd reads: on a host, Debian's /etc/apache2/apache2.conf (with
the variables of /etc/apache2/envvars) or RHEL's /etc/httpd/conf/httpd.conf, or, live,
the ``-d``/``-f``/``-D`` of a running httpd; in a config repository, each file that no
other given file includes. Its configuration is built as httpd builds it
(``oomaudit.parsers.apache``), its MPM limits as the MPM clamps them
(``oomaudit.parsers.apache_mpm``), and its worst case (processes at full load x memory
per process) goes into the host's memory ledger.

This module only registers (it is what the entry point names, and every run imports
it); the checks live in ``apache_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

PLUGIN = "apache"
CHECKS = "oomaudit.plugins.apache_checks"
# (top-level file, ServerRoot, envvars) as each distribution's httpd finds them.
LAYOUTS = (("/etc/apache2/apache2.conf", "/etc/apache2", "/etc/apache2/envvars"),
           ("/etc/httpd/conf/httpd.conf", "/etc/httpd", None))
# Apache's own section tags and directives, which no other format uses: the whole of
# what the sniffer (apache_checks.looks_like_apache) asks, so a head that passes this
# hint is an Apache file and sniffing it costs no needless import.
SNIFF_HINT = (r"^[ \t]*(?i:<IfModule[ \t>]|<VirtualHost[ \t>]|<Directory[ \t>]|LoadModule[ \t]|"
              r"ServerRoot[ \t]|MaxRequestWorkers[ \t]|MaxClients[ \t]|StartServers[ \t]|"
              r"MinSpareServers[ \t]|MaxSpareServers[ \t]|ThreadsPerChild[ \t]|ServerLimit[ \t]|"
              r"MaxConnectionsPerChild[ \t]|MaxRequestsPerChild[ \t]|DocumentRoot[ \t])")

READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.apache:parse_file",
    system_paths=tuple(layout[0].lstrip("/") for layout in LAYOUTS),
    file_patterns=("httpd.conf", "apache2.conf", "httpd-mpm.conf", "*__httpd.conf",
                   "*__apache2.conf", "*/apache2/*.conf", "*/apache2/*/*.conf",
                   "*/httpd/conf/*.conf", "*/httpd/conf.d/*.conf",
                   "*/httpd/conf.modules.d/*.conf", "*__apache2__*.conf", "*__httpd__*.conf",
                   "mpm_prefork.conf", "mpm_worker.conf", "mpm_event.conf"),
    sniff=f"{CHECKS}:looks_like_apache", sniff_hint=SNIFF_HINT)


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
    from . import apache_checks

    apache_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # In a config repository every check starts from the servers built from the given
    # apache files and yields nothing (asks for no fact) without one.
    return make_rules(checks_in(CHECKS, "HTTPD001", "HTTPD002", "HTTPD003"),
                      "httpd.toml", reads=(PLUGIN,))
