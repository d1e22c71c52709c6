"""What the MySQL plugin's registration and its code both need: the plugin's name, the
files a server reads by default, and the option-file reader.

The registration (``__init__``) and every code module import these from here, so that
imports run one way: the code modules never import the registration.
"""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "mysql"
DEFAULT_FILES = ("/etc/my.cnf", "/etc/mysql/my.cnf")  # the server's search, in order

# A module constant, not built in the hook: the server assembly hands this very reader to
# mycnf.Loader, so that files reached by !include are read with its comment prefixes.
READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.mycnf:parse_file", system_paths=DEFAULT_FILES,
    file_patterns=("my.cnf", "*[._]my.cnf", "my.ini", "*/mysql/*.cnf", "*/mysql/*/*.cnf",
                   "*/my.cnf.d/*.cnf"),
    sniff="oomaudit.parsers.mycnf:looks_like_mycnf",
    # the sniffer needs a group header it knows; each of them starts with one of these
    sniff_hint=r"^[ \t]*\[(?i:mysql|mariadb|client|server|galera)",
    comment_prefixes=("#", ";"))
