"""/proc/meminfo, read once per run on a live host (HOST001 and the sysctl plugin's
CommitLimit both use it)."""
from __future__ import annotations

from oomaudit.procfs import read_live

MEMINFO = "/proc/meminfo"


def parse_meminfo(text: str) -> dict[str, int]:
    """``MemTotal:  24684096 kB`` -> bytes; fields without a unit (HugePages_Total) stay
    counts."""
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if not words or not words[0].isdigit():
            continue
        factor = 1024 if words[1:2] == ["kB"] else 1
        values[name.strip()] = int(words[0]) * factor
    return values


def meminfo(host) -> dict[str, int] | None:
    """/proc/meminfo of the live host, read once per run; None (and a CONF003 note) when
    it cannot be read."""
    if "meminfo" not in host.cache:
        try:
            host.cache["meminfo"] = parse_meminfo(read_live(MEMINFO))
        except OSError as exc:
            host.note_unreadable(f"live: {MEMINFO}", exc.strerror or str(exc))
            host.cache["meminfo"] = None
    return host.cache["meminfo"]
