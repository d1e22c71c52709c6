"""The sysctl reader, declared where the registration and the code both find it: the code
reads the files of a host's merge with this same reader."""
from __future__ import annotations

from oomaudit import Reader

READER = Reader(
    "sysctl", "oomaudit.plugins.sysctl.document:parse",
    system_paths=("etc/sysctl.conf", "etc/sysctl.d/*.conf", "run/sysctl.d/*.conf",
                  "usr/local/lib/sysctl.d/*.conf", "usr/lib/sysctl.d/*.conf"),
    file_patterns=("sysctl.conf", "sysctl.d/*.conf", "*/sysctl.d/*.conf"),
    sniff="oomaudit.parsers.sysctl:looks_like_sysctl",
    # the sniffer wants a setting (maybe commented out or after '-') of vm., net., kernel.
    # or fs. (or their slash forms) followed by '='
    sniff_hint=r"^[ \t\r#;-]*(?:vm|net|kernel|fs)[./][^=\n]*=",
    comment_prefixes=("#", ";"))
