"""systemd-oomd's settings as systemd 252 merges them: ``/etc/systemd/oomd.conf``, then
the drop-ins ``*.conf`` of ``oomd.conf.d`` under /etc/systemd, /run/systemd,
/usr/local/lib/systemd and /usr/lib/systemd, sorted by file name, a name in an earlier
folder hiding it in later ones and a link to /dev/null masking it; the last assignment of a
key wins. The line syntax is the unit files' (``oomaudit.parsers.systemd``), section
``[OOM]``. Proven against ``systemd-analyze cat-config systemd/oomd.conf``.
"""
from __future__ import annotations

from pathlib import Path

from oomaudit.parsers.systemd import parse_unit

MAIN = "/etc/systemd/oomd.conf"
DROPIN_DIRS = ("/etc/systemd/oomd.conf.d", "/run/systemd/oomd.conf.d",
               "/usr/local/lib/systemd/oomd.conf.d", "/usr/lib/systemd/oomd.conf.d")
# oomd.conf(5)'s compiled-in defaults (Debian's package sets the duration to 20s in
# /usr/lib/systemd/oomd.conf.d/10-oomd-defaults.conf)
DEFAULTS = {"SwapUsedLimit": "90%", "DefaultMemoryPressureLimit": "60%",
            "DefaultMemoryPressureDurationSec": "30s"}


def files(host) -> list[tuple[str, Path]]:
    """(path on the host, real path) of the files systemd-oomd reads, in order."""
    found = []
    main = host.resolve(MAIN)
    if main is not None and host.fs.is_file(main):
        found.append((MAIN, main))
    chosen: dict[str, tuple[str, Path]] = {}
    for folder in DROPIN_DIRS:
        real = host.resolve(folder)
        if real is None or not host.fs.is_dir(real):
            continue
        for conf in host.fs.glob(real / "*.conf"):
            chosen.setdefault(conf.name, (f"{folder}/{conf.name}", conf))
    for name in sorted(chosen):
        inside, real = chosen[name]
        if host.fs.readlink(real) != "/dev/null":
            found.append((inside, real))
    return found


def settings(host) -> dict[str, tuple[str, str]]:
    """key -> (value, where) in force; a key no file sets has its default, where ''."""
    merged = {key: (value, "") for key, value in DEFAULTS.items()}
    for _inside, real in files(host):
        source = host.read(real)
        if source is None:
            continue
        for a in parse_unit(source.text, None, ("OOM",)).assignments:
            if a.section == "OOM":
                merged[a.key] = (a.value, f"{source.display}:{a.line}") if a.value else \
                    (DEFAULTS.get(a.key, ""), "")
    return merged
