"""What the nginx plugin's registration and its code modules both need: the plugin's
name and the reader declaration. Imports nothing of the code modules."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "nginx"

READER = Reader(
    name=PLUGIN, parse="oomaudit.plugins.nginx.configs:NginxFile",
    system_paths=("/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf",
                  "/usr/local/etc/nginx/nginx.conf", "/usr/local/openresty/nginx/conf/nginx.conf"),
    file_patterns=("nginx.conf", "*/nginx/*.conf", "*/nginx/conf.d/*.conf"),
    sniff="oomaudit.parsers.nginx:sniff",
    # the sniffer wants two of these directives or blocks at the start of a line
    sniff_hint=r"^\s*(?:worker_processes|worker_connections|events\s*\{|http\s*\{|"
               r"server\s*\{|upstream\s+\S+\s*\{|location\s+\S)",
    expands=("${",))  # ${name} is one of nginx's own variables
