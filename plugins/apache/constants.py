"""What the Apache plugin's registration and its code modules both need: the plugin's
name, where each distribution keeps httpd's files, and the reader declaration (its sniff
hint is written out here, and ``sniff.looks_like_apache`` compiles exactly that).

Imports nothing of the code modules: they import from here, the registration too.
"""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "apache"
# (top-level file, ServerRoot, envvars) as each distribution's httpd finds them.
LAYOUTS = (("/etc/apache2/apache2.conf", "/etc/apache2", "/etc/apache2/envvars"),
           ("/etc/httpd/conf/httpd.conf", "/etc/httpd", None))
# Apache's own section tags and directives, which no other format uses: the whole of
# what the sniffer (sniff.looks_like_apache) asks, so a head that passes this hint is
# an Apache file and sniffing it costs no needless import.
SNIFF_HINT = (r"^[ \t]*(?i:<IfModule[ \t>]|<VirtualHost[ \t>]|<Directory[ \t>]|LoadModule[ \t]|"
              r"ServerRoot[ \t]|MaxRequestWorkers[ \t]|MaxClients[ \t]|StartServers[ \t]|"
              r"MinSpareServers[ \t]|MaxSpareServers[ \t]|ThreadsPerChild[ \t]|ServerLimit[ \t]|"
              r"MaxConnectionsPerChild[ \t]|MaxRequestsPerChild[ \t]|DocumentRoot[ \t])")

READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.apache_syntax:parse_file",
    system_paths=tuple(layout[0].lstrip("/") for layout in LAYOUTS),
    file_patterns=("httpd.conf", "apache2.conf", "httpd-mpm.conf", "*__httpd.conf",
                   "*__apache2.conf", "*/apache2/*.conf", "*/apache2/*/*.conf",
                   "*/httpd/conf/*.conf", "*/httpd/conf.d/*.conf",
                   "*/httpd/conf.modules.d/*.conf", "*__apache2__*.conf", "*__httpd__*.conf",
                   "mpm_prefork.conf", "mpm_worker.conf", "mpm_event.conf"),
    sniff="oomaudit.plugins.apache.sniff:looks_like_apache", sniff_hint=SNIFF_HINT,
    expands=("${",))  # httpd fills ${NAME} from Define and its environment
