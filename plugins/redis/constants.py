"""What the Redis plugin's registration and its code modules both need: the plugin's and
the ledger's name and the redis.conf reader. Imports nothing of the code modules."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "redis"
SERVICE = "redis"  # the memory ledger's service, for Redis and Valkey alike
PACKAGE = "oomaudit.plugins.redis"
SERVER_NAMES = ("redis-server", "valkey-server")  # live processes (psutil's name)

READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.redisconf:parse",
    # Debian's redis-server@NAME.service reads /etc/redis/redis-NAME.conf; Redis's own
    # install_server.sh writes /etc/redis/PORT.conf; Fedora 36+ /etc/redis/redis.conf
    system_paths=("/etc/redis/redis.conf", "/etc/redis/redis-*.conf", "/etc/redis/[0-9]*.conf",
                  "/etc/redis.conf", "/etc/valkey/valkey.conf", "/etc/valkey/valkey-*.conf"),
    file_patterns=("redis.conf", "redis-*.conf", "redis_*.conf", "valkey.conf",
                   "valkey-*.conf", "*/redis/*.conf", "*/valkey/*.conf"),
    sniff="oomaudit.parsers.redisconf:sniff",
    # the sniffer wants two of these directives, each at the start of a line and followed
    # by a blank and a value, as no other format writes them
    sniff_hint=r"^[ \t]*(?i:maxmemory|maxmemory-policy|appendonly|appendfsync|dbfilename|"
               r"replicaof|slaveof|protected-mode|tcp-backlog|rdbcompression)[ \t]+\S")
