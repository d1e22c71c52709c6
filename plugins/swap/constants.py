"""What the swap plugin's registration and its code both need: the fstab reader and where
the kernel lists the active swap areas."""
from __future__ import annotations

from oomaudit import Reader

PROC_SWAPS = "/proc/swaps"

READER = Reader(
    name="fstab", parse="oomaudit.plugins.swap.document:parse", system_paths=("etc/fstab",),
    file_patterns=("fstab", "*.fstab", "fstab.*", "*_fstab", "*-fstab"),
    sniff="oomaudit.parsers.fstab:looks_like_fstab",
    # an entry's target ("/", "none", "swap") as second field, or a comment line with
    # the stock header; anchored at line starts, the search costs per line
    sniff_hint=r"^[ \t]*(?:[^# \t\n][^ \t\n]*[ \t]+(?:/|none|swap)|#.*(?i:<file system>|"
               r"static file system information|unconfigured fstab|/etc/fstab))")
