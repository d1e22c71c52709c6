"""The process names of the critical services (settings ``critical-services``, unit-name
patterns such as ``ssh`` or ``postgresql@*``): earlyoom's --prefer, --avoid and --ignore
match a process's name as the kernel keeps it (``/proc/PID/comm``, at most 15 characters),
not its unit, so each pattern is turned into the names its daemons run as.
"""
from __future__ import annotations

import re

from oomaudit.config import DEFAULT_CRITICAL

COMM = 15  # TASK_COMM_LEN - 1: the kernel truncates a process name to this

# a unit name's stem -> the names its main processes run as on Debian and Fedora
_DAEMONS = {
    "ssh": ("sshd",), "sshd": ("sshd",), "openssh-server": ("sshd",),
    "postgresql": ("postgres",), "postgres": ("postgres",),
    "mysql": ("mysqld",), "mysqld": ("mysqld",), "mariadb": ("mariadbd", "mysqld"),
    "apache2": ("apache2",), "httpd": ("httpd",), "nginx": ("nginx",),
    "redis": ("redis-server",), "redis-server": ("redis-server",),
    "valkey": ("valkey-server",), "memcached": ("memcached",), "mongod": ("mongod",),
    "elasticsearch": ("java",), "opensearch": ("java",), "docker": ("dockerd",),
    "containerd": ("containerd",), "systemd-journald": ("systemd-journal",),
}


def critical_processes(settings) -> list[tuple[str, tuple[str, ...]]]:
    """(pattern, process names) for each critical-services pattern, in the settings' order."""
    patterns = getattr(settings, "critical_services", None) or DEFAULT_CRITICAL
    return [(pattern, process_names(pattern)) for pattern in patterns]


def process_names(pattern: str) -> tuple[str, ...]:
    """``postgresql@*`` -> ('postgres',); ``php8.2-fpm`` -> ('php-fpm8.2',); an unknown
    unit -> its own stem, cut as the kernel cuts a name."""
    stem = re.split(r"[@*?\[]", pattern.lower().removesuffix(".service"), maxsplit=1)[0]
    stem = stem.rstrip("-.") or pattern
    php = re.fullmatch(r"php([\d.]*)-fpm", stem)
    if php:
        return (f"php-fpm{php.group(1)}"[:COMM],)
    if stem.startswith("php"):
        return ("php-fpm",)
    return tuple(name[:COMM] for name in _DAEMONS.get(stem, (stem,)))
