"""Which server reads a MySQL server's option files: MariaDB or MySQL, and its version.

The answer changes what the files mean (groups read, defaults, limits), so it is asked
first: the running binary and the installed package, else what the option files say
(version groups, MariaDB-only groups, MySQL's own layout), else Debian's MariaDB.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from oomaudit.host import FILES
from oomaudit.parsers.mysql_values import DEFAULT_FLAVOUR, Flavour
from oomaudit.procfs import live_link

from .optionfiles import load, loader

_VERSION_GROUP = re.compile(r"(mysqld|mariadb|mariadbd)-(\d+)\.(\d+)$")
_PACKAGES = re.compile(r"(mariadb|mysql)-server-core(?:-(\d+)\.(\d+))?$")


def flavour_of(host, tops: list[Path], procs: list) -> Flavour:
    """The server in effect: the running binary and the installed package, else what the
    option files say (version groups, MariaDB-only groups), else Debian's MariaDB."""
    package = _installed(host)
    if procs:
        name = "MariaDB" if _is_mariadb(procs[0]) else "MySQL"
        version = package.version if package and package.name == name else \
            DEFAULT_FLAVOUR.version if name == "MariaDB" else (8, 0)
        return Flavour(name, version, f"live: {procs[0].name} pid {procs[0].pid}"
                       + (f", {package.source}" if package else ""))
    if package:
        return package
    return _from_groups(host, tops) or DEFAULT_FLAVOUR


def _is_mariadb(proc) -> bool:
    if proc.name == "mariadbd":
        return True
    try:
        return os.path.basename(live_link(f"/proc/{proc.pid}/exe")).startswith("mariadbd")
    except OSError:
        return False


def _installed(host) -> Flavour | None:
    """The server package dpkg installed under the audited root, if any."""
    status = host.resolve("/var/lib/dpkg/status") if host.mode != FILES else None
    if status is None or not host.fs.is_file(status):
        return None
    try:
        stanzas = host.fs.read_text(status).split("\n\n")
    except OSError:
        return None
    for stanza in stanzas:
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        m = _PACKAGES.match(fields.get("Package", ""))
        if m and fields.get("Status", "").endswith(" installed"):
            version = re.search(r"(?:\d+:)?(\d+)\.(\d+)", fields.get("Version", ""))
            if version:
                name = "MariaDB" if m.group(1) == "mariadb" else "MySQL"
                return Flavour(name, (int(version.group(1)), int(version.group(2))),
                               f"installed package {fields['Package']} {fields['Version']}")
    return None


def _from_groups(host, tops: list[Path]) -> Flavour | None:
    reader = loader(host, DEFAULT_FLAVOUR)
    config = load(host, DEFAULT_FLAVOUR, tops)
    mariadb_hint = None
    for real in config.files:
        parsed = reader.option_file(real)
        for item in parsed.items if parsed else ():
            if item.kind != "group":
                continue
            name = item.text.lower()
            where = f"[{item.text}] in {parsed.source.display}:{item.line}"
            m = _VERSION_GROUP.match(name)
            if m:
                major, minor = int(m.group(2)), int(m.group(3))
                if m.group(1) != "mysqld" or major >= 10:
                    return Flavour("MariaDB", (major, minor), f"version group {where}")
                return Flavour("MySQL", (major, minor), f"version group {where}")
            if name in ("mariadb", "mariadbd") and mariadb_hint is None:
                mariadb_hint = Flavour("MariaDB", DEFAULT_FLAVOUR.version,
                                       f"MariaDB-only group {where}; version 10.11 assumed")
    if mariadb_hint:
        return mariadb_hint
    for real in config.files:
        if "mysql.conf.d" in real.as_posix():  # Debian and Ubuntu's MySQL 8 layout
            return Flavour("MySQL", (8, 0), f"MySQL's mysql.conf.d layout ({real}); "
                                            "version 8.0 assumed")
    return None
