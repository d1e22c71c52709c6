"""What the systemd plugin's registration and its code both need: the plugin's name, the
unit reader and the folders it reads, and where the merged units are kept for others.

The registration (``__init__``) and every code module import these from here, so that
imports run one way: the code modules never import the registration.
"""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "systemd"
# host.cache key of the host's merged units (a UnitSet), which other plugins may read
CACHE = "systemd.units"

# oomaudit.parsers.systemd_names.SEARCH_PATH, written out: importing the unit parser
# would cost every run. tests/systemd/test_systemd_parser.py asserts the two agree.
SEARCH_PATH = (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
    "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
    "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
)

# Module-level: the unit merge (units.py) reads the unit files of a host's tree with this
# same reader.
READER = Reader(
    name=PLUGIN,
    parse="oomaudit.plugins.systemd.units:parse_source",
    system_paths=tuple(p for d in SEARCH_PATH for p in (
        f"{d}/*.service", f"{d}/*.service.d/*.conf", f"{d}/service.d/*.conf")),
    file_patterns=("*.service", "*.service.d/*.conf", "*.service.d__*.conf"),
    sniff="oomaudit.parsers.systemd:looks_like_unit",
    # the sniffer wants a line that is only a [Unit], [Service] or [Install] header; a
    # lone \r also ends a line for systemd, and the file may start with a BOM
    sniff_hint=r"(?:^|\r)\ufeff*[ \t]*\[(?:Unit|Service|Install)\][ \t]*(?:\r|$)",
    comment_prefixes=("#", ";"),
    expands=("${",),  # systemd fills ${VAR} in command lines (and refuses it elsewhere)
)
