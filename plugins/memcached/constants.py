"""What the memcached plugin's registration and its code modules both need: the plugin's
and the ledger's name and the memcached.conf reader. Imports nothing of the code modules."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "memcached"
SERVICE = "memcached"  # the memory ledger's service
PACKAGE = "oomaudit.plugins.memcached"
SYSTEMD = "systemd"  # the reader whose units may run memcached with its options

READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.memcached:parse",
    # Debian: memcached.service reads /etc/memcached.conf, memcached@NAME.service
    # /etc/memcached_NAME.conf (both through systemd-memcached-wrapper)
    system_paths=("/etc/memcached.conf", "/etc/memcached_*.conf"),
    file_patterns=("memcached.conf", "memcached_*.conf"))
