"""The host's sysctl files merged as each program applies them (procps' ``sysctl
--system`` and systemd-sysctl), which of the two runs at boot, and the values in /proc/sys
now: the policies the rules judge on a live host or a tree."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from oomaudit.host import FILES
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import PROCPS, SYSTEMD, Merged
from oomaudit.procfs import read_live
from oomaudit.record import Record

from .constants import READER
from .document import SysctlDoc, parse
from .kernel import LIMITS, Policy, Setting, replay

DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
        "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"


class Persisted(Record):
    """The host's sysctl files merged as each program applies them (procps'
    ``sysctl --system`` and systemd-sysctl), by dialect, and which of the two runs at boot."""

    def __init__(self, merged: dict[str, Merged], policies: dict[str, Policy], boot: str,
                 why: str):
        self.merged = merged  # dialect -> merge
        self.policies = policies
        self.boot = boot  # the dialect that applies the files at boot
        self.why = why  # how we know


def _docs_by_path(host) -> dict[Path, SysctlDoc | None]:
    return {d.source.path: d for d in host.documents("sysctl")}


def _load(host, real: Path, known: dict[Path, SysctlDoc | None]) -> SysctlDoc | None:
    """The parsed file, parsed once (and an unreadable one noted once) for both merges."""
    if real not in known:
        source = host.read(real, READER)
        known[real] = parse(source) if source is not None else None
    return known[real]


def file_order(host) -> dict[str, list[tuple[str, Path]]]:
    """Per dialect, the files in reading order: (path as the host names it, real path or
    None when masked).

    Names from every directory are merged and sorted; a name in an earlier directory
    shadows the same name later. procps also reads hidden ``.x.conf`` files and then
    /etc/sysctl.conf; systemd-sysctl does neither. A /dev/null symlink reads as empty.
    """
    order: dict[str, dict[str, tuple[str, Path | None]]] = {PROCPS: {}, SYSTEMD: {}}
    seen: set[Path] = set()
    null = host.fs.inside("/dev/null")
    for folder in DIRS:
        real_dir = host.fs.inside(folder)
        try:
            if real_dir in seen or not stat.S_ISDIR(host.fs.stat(real_dir).st_mode):
                continue
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:  # a link loop, a folder we may not search
            host.note_unreadable(folder, exc.strerror or str(exc), folder)
            continue
        seen.add(real_dir)
        try:
            names = host.fs.listdir(real_dir)
        except OSError as exc:
            shown = host.display(real_dir)
            if isinstance(exc, PermissionError):
                host.note_denied(shown)
            else:
                host.note_unreadable(shown, exc.strerror or str(exc), shown)
            continue
        for name in names:
            if len(name) < 5 or not name.endswith(".conf"):
                continue
            inside = f"{folder}/{name}"
            real = host.fs.inside(inside)
            real = None if real == null else real  # masked: read as empty
            order[PROCPS].setdefault(name, (inside, real))
            if not name.startswith(".") and not host.fs.is_dir(real_dir / name):
                order[SYSTEMD].setdefault(name, (inside, real))
    result = {d: [order[d][n] for n in sorted(order[d], key=os.fsencode)]
              for d in fmt.DIALECTS}
    conf = host.fs.inside(SYSCTL_CONF)
    if host.fs.is_file(conf):
        result[PROCPS].append((SYSCTL_CONF, conf))
    return result



def boot_dialect(host) -> tuple[str, str]:
    """Which program applies the files at boot, and how we know."""
    if host.live:
        try:
            init = read_live("/proc/1/comm").strip()
        except OSError:
            init = "unknown"
        if init == "systemd":
            return SYSTEMD, "PID 1 is systemd: systemd-sysctl applies them at boot"
        return PROCPS, (f"PID 1 is {init}, not systemd: compared as 'sysctl --system' "
                        "reads them")
    for path in ("/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl"):
        if host.fs.exists(host.fs.inside(path)):
            return SYSTEMD, f"the tree ships {path}: systemd-sysctl applies them at boot"
    return PROCPS, "no systemd-sysctl in the tree: 'sysctl --system' applies them"


def persisted(host) -> Persisted | None:
    """Both programs' merge of the host's sysctl files (None for ``check``: no host)."""
    if host.mode == FILES or host.root is None:
        return None
    if "sysctl" not in host.cache:
        known = _docs_by_path(host)
        merged, policies = {}, {}
        for dialect, files in file_order(host).items():
            loaded = []
            for _inside, real in files:
                doc = _load(host, real, known) if real else None
                if doc is not None:
                    loaded.append((doc.source.display, doc.file))
            merged[dialect] = fmt.merge(loaded, dialect)
            policies[dialect] = replay(merged[dialect])
        boot, why = boot_dialect(host)
        host.cache["sysctl"] = Persisted(merged, policies, boot, why)
    return host.cache["sysctl"]


def live_policy(host) -> Policy | None:
    """The values in /proc/sys now (live scans only)."""
    if not host.live:
        return None
    if "sysctl_live" not in host.cache:
        settings = {}
        for key in LIMITS:
            try:
                settings[key] = Setting(int(read_live(f"/proc/sys/{key}").split()[0]),
                                        None)
            except (OSError, ValueError, IndexError) as exc:
                host.note_unreadable(f"live: /proc/sys/{key}", str(exc))
                host.cache["sysctl_live"] = None
                return None
        host.cache["sysctl_live"] = Policy(settings)
    return host.cache["sysctl_live"]
