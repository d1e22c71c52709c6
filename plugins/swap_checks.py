"""SWAP001-SWAP004: the code behind ``swap.py``, which registers it and says what each
mode (live, ``--root``, config repository) can honestly know. Imported only when there
is something to check.
"""
from __future__ import annotations

import fnmatch
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

from oomaudit import Evidence, Finding, Source
from oomaudit.host import LIVE, ROOT, Fact, Host
from oomaudit.parsers.fstab import (
    Fstab,
    FstabEntry,
    commented_swaps,
    parse_fstab,
    unescape,
)
from oomaudit.units import format_size

GIB = 1 << 30
PROC_SWAPS = "/proc/swaps"
# Swap that systemd or a distribution service sets up without an fstab line.
_ZRAM_CONFIGS = ("/etc/systemd/zram-generator.conf", "/usr/lib/systemd/zram-generator.conf")
_DPHYS_CONFIG = "/etc/dphys-swapfile"


# -- reading -----------------------------------------------------------------------------

class FstabDocument(NamedTuple):
    """What the ``fstab`` reader's parse() gives: the file and its table; lines that
    mount and swapon reject are already CONF001 problems of ``source``."""

    source: Source
    fstab: Fstab


def parse(source: Source) -> FstabDocument:
    fstab = parse_fstab(source.text)
    for error in fstab.errors:
        source.problem("CONF001", error.line,
                       f"fstab line {error.line} rejected by mount/swapon: {error.reason}; "
                       "libmount skips this line",
                       fix="write: SOURCE TARGET FSTYPE [OPTIONS [DUMP [PASS]]], e.g. "
                           "'/swapfile none swap sw 0 0'",
                       evidence=[Evidence(repr(error.text), f"{source.display}:{error.line}")],
                       key=(error.text.split() or [""])[0])  # the entry's device or file
    return FstabDocument(source, fstab)


# -- live facts --------------------------------------------------------------------------

class ActiveSwap(NamedTuple):
    """One line of /proc/swaps (sizes in bytes)."""

    filename: str
    type: str
    size: int
    used: int
    priority: int

    def describe(self) -> str:
        return (f"{self.filename} ({self.type}, {format_size(self.size)}, "
                f"{format_size(self.used)} used, priority {self.priority})")


def parse_proc_swaps(text: str) -> list[ActiveSwap]:
    """/proc/swaps: a header, then ``Filename Type Size(KiB) Used(KiB) Priority``; the
    kernel escapes blanks in file names as ``\\040``."""
    swaps = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        *name, kind, size, used, prio = fields
        try:
            numbers = int(size) * 1024, int(used) * 1024, int(prio)
        except ValueError:
            continue
        filename = unescape(" ".join(name))
        if filename.endswith(" (deleted)"):
            filename = filename[:-len(" (deleted)")]
        swaps.append(ActiveSwap(filename, kind, *numbers))
    return swaps


def collect(host):
    try:
        text = Path(PROC_SWAPS).read_text()
    except OSError as exc:
        host.note_unreadable(PROC_SWAPS, f"{exc.strerror or exc}; active swap not checked")
        return
    host.facts["swaps"] = Fact(parse_proc_swaps(text), f"live: {PROC_SWAPS}")


# -- helpers -----------------------------------------------------------------------------

def _documents(host: Host) -> list[FstabDocument]:
    return [d for d in host.documents("fstab") if isinstance(d, FstabDocument)]


def _boot_swaps(doc: FstabDocument) -> list[FstabEntry]:
    return [e for e in doc.fstab.swaps if not e.noauto]


def _where(doc: FstabDocument, line: int | None) -> str:
    return f"{doc.source.display}:{line}" if line else doc.source.display


def _fstab_field(text: str) -> str:
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)


def suggest_swap(ram: int | None) -> int:
    """A safety net for spikes, not extra memory: 1/4 of RAM in whole GiB, at least 2 GiB
    (or RAM itself on tiny hosts), at most 8 GiB (more only prolongs thrashing)."""
    if ram is None:
        return 2 * GIB
    if ram < 2 * GIB:
        return max(GIB, -(-ram // GIB) * GIB)
    return min(8 * GIB, max(2 * GIB, -(-ram // 4 // GIB) * GIB))


def _size_arg(size: int) -> str:
    return f"{size // GIB}G"


def _add_swapfile_fix(host: Host, path: str = "/swapfile") -> str:
    ram = host.fact("ram")
    size = suggest_swap(ram.value if ram else None)
    basis = (f"{format_size(size)} for {format_size(ram.value)} RAM" if ram
             else f"{format_size(size)}; RAM unknown: about 1/4 of RAM, 2 to 8 GiB")
    return (f"add a swap file ({basis}):\n"
            f"fallocate -l {_size_arg(size)} {path} && chmod 600 {path} && mkswap {path} "
            f"&& swapon {path}\n"
            f"echo '{_fstab_field(path)} none swap sw 0 0' >> /etc/fstab")


def _is_file_source(entry: FstabEntry) -> bool:
    """A swap *file*: an absolute path outside /dev (devices and tags are block devices)."""
    src = entry.source
    return entry.tag is None and src.startswith("/") and not src.startswith("/dev/")


def _udev_encode(value: str) -> str:
    """How udev names /dev/disk/by-label/... (blkid_encode_string): unsafe bytes as \\xNN."""
    out = []
    for byte in value.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        keep = byte >= 0x80 or ch.isalnum() or ch in "#+-.:=@_"
        out.append(ch if keep else f"\\x{byte:02x}")
    return "".join(out)


def _device_path(entry: FstabEntry) -> str | None:
    tag = entry.tag
    if tag is None:
        return entry.source if entry.source.startswith("/") else None
    name, value = tag
    return f"/dev/disk/by-{name.lower()}/{_udev_encode(value)}"


def _checkable(host: Host, entry: FstabEntry) -> str | None:
    """The path whose existence this host can honestly test, or None."""
    if _is_file_source(entry):
        return entry.source if host.mode in (LIVE, ROOT) else None
    if host.mode != LIVE or not os.path.isdir("/dev/disk"):
        return None  # a tree has no devices; without udev, /dev says nothing either
    return _device_path(entry)


def _exists(host: Host, path: str) -> tuple[bool, Path | None]:
    try:
        real = host.resolve(path)
    except OSError:  # symlink loop inside the tree
        return False, None
    if real is None:
        return False, None
    if real.exists():
        return True, real
    if "/dev/disk/by-uuid/" in path:  # vfat/ntfs UUIDs are upper case in fstab, lower in udev
        lower = host.resolve(path.lower())
        if lower is not None and lower.exists():
            return True, lower
    return False, real


def _canonical(host: Host, path: str) -> str:
    try:
        real = host.resolve(path)
    except OSError:
        return path
    return str(real) if real is not None else path


def _inside(host: Host, real: Path) -> str:
    if host.mode == ROOT and host.root is not None:
        try:
            return "/" + real.relative_to(host.root).as_posix()
        except ValueError:
            pass
    return str(real)


def _managed_elsewhere(host: Host) -> list[str]:
    """Swap set up without fstab: zram-generator, dphys-swapfile, systemd .swap units."""
    found = []
    for path in (*_ZRAM_CONFIGS, _DPHYS_CONFIG):
        real = host.resolve(path)
        if real is not None and real.is_file():
            found.append(path)
    for folder in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        real = host.resolve(folder)
        if real is not None and real.is_dir():
            found += [f"{folder}/{p.name}" for p in sorted(real.glob("*.swap"))]
    return found


def _swap_unit_paths(host: Host, units: list[str]) -> set[str]:
    paths = set()
    for unit in units:
        real = host.resolve(unit)
        if unit.endswith(".swap") and real is not None:
            try:
                text = real.read_text(errors="replace")
            except OSError:
                continue
            paths.update(m.group(1).strip() for m in re.finditer(r"(?m)^\s*What=(.+)$", text))
        elif unit == _DPHYS_CONFIG and real is not None:
            try:
                text = real.read_text(errors="replace")
            except OSError:
                continue
            m = re.search(r"(?m)^\s*CONF_SWAPFILE=[\"']?([^\"'\s]+)", text)
            paths.add(m.group(1) if m else "/var/swap")
    return paths


def _in_container() -> bool:
    """/proc/swaps is not namespaced: a container sees the host's swap areas."""
    return any(os.path.exists(p) for p in ("/.dockerenv", "/run/.containerenv"))


def _ram_evidence(host: Host) -> list[Evidence]:
    ram = host.fact("ram")
    return [Evidence(f"RAM = {format_size(ram.value)}", ram.source)] if ram else []


# -- rules -------------------------------------------------------------------------------

def check_swap001(host: Host):
    docs = _documents(host)
    swaps = host.fact("swaps") if host.live else None
    if swaps is not None and swaps.value:
        return  # live and active: nothing to report here (SWAP004 says if it is persisted)
    if host.live and docs and any(_boot_swaps(d) for d in docs):
        return  # in fstab but not active: SWAP004
    elsewhere = [] if host.live and swaps is not None else (
        _managed_elsewhere(host) if host.mode in (LIVE, ROOT) else [])
    if elsewhere:
        return  # zram-generator, dphys-swapfile or a .swap unit provides it
    if not docs:
        if host.live:
            yield _no_swap_live(host, None, swaps)
        return  # an offline tree or repo without fstab (a container image) says nothing
    for doc in docs:
        if _boot_swaps(doc):
            continue
        if host.live:
            yield _no_swap_live(host, doc, swaps)
        else:
            yield _no_swap_file(host, doc)


def _inactive_hints(doc: FstabDocument) -> tuple[list[Evidence], int | None, str]:
    evidence, line, why = [], None, ""
    noauto = [e for e in doc.fstab.swaps if e.noauto]
    commented = commented_swaps(doc.fstab)
    for e in noauto:
        evidence.append(Evidence(f"swap entry {e.source} has noauto: not activated at boot",
                                 _where(doc, e.line)))
    for e in commented:
        evidence.append(Evidence(f"swap entry {e.source} is commented out", _where(doc, e.line)))
    if noauto:
        line, why = noauto[0].line, f"; the swap entry at line {noauto[0].line} has noauto"
    elif commented:
        line, why = commented[0].line, f"; the swap entry at line {commented[0].line} is " \
                                       "commented out"
    return evidence, line, why


def _no_swap_file(host: Host, doc: FstabDocument) -> Finding:
    hints, line, why = _inactive_hints(doc)
    entries = len(doc.fstab.entries)
    evidence = [Evidence(f"{entries} entr{'y' if entries == 1 else 'ies'}, none of type swap "
                         "active at boot", doc.source.display), *hints, *_ram_evidence(host)]
    return Finding("SWAP001", f"no swap: no entry in this fstab activates swap at boot{why}",
                   doc.source.display, line, evidence, _add_swapfile_fix(host))


def _no_swap_live(host: Host, doc: FstabDocument | None, swaps: Fact | None) -> Finding:
    evidence = []
    if swaps is not None:
        evidence.append(Evidence("no active swap area", swaps.source))
    else:
        evidence.append(Evidence("active swap unknown (could not read it)", f"live: {PROC_SWAPS}"))
    line = None
    if doc is not None:
        hints, line, _ = _inactive_hints(doc)
        evidence += [Evidence("no swap entry activated at boot", doc.source.display), *hints]
    else:
        evidence.append(Evidence("no fstab", "/etc/fstab"))
    evidence += _ram_evidence(host)
    ram = host.fact("ram")
    on = f" on {format_size(ram.value)} RAM" if ram else ""
    state = "none active and none" if swaps is not None else "none"
    return Finding("SWAP001", f"no swap: {state} in /etc/fstab{on}; when RAM fills up the "
                              "OOM killer is the only way out",
                   doc.source.display if doc else None, line, evidence,
                   _add_swapfile_fix(host))


def check_swap002(host: Host):
    for doc in _documents(host):
        for entry in doc.fstab.swaps:
            path = _checkable(host, entry)
            if path is None:
                continue
            found, real = _exists(host, path)
            if found:
                continue
            kind = "file" if _is_file_source(entry) else "device"
            evidence = [Evidence(f"{entry.source} {entry.target} swap {entry.options or ''}"
                                 .rstrip(), _where(doc, entry.line))]
            if real is not None and host.mode == ROOT:
                evidence.append(Evidence(f"looked for {path} inside the tree: {real}",
                                         f"--root {host.root}"))
            elif path != entry.source:
                evidence.append(Evidence(f"no {path}", "live: udev /dev/disk"))
            when = "swapon -a" if entry.noauto else "boot"
            consequence = ("boot waits for it and fails into emergency mode" if kind == "device"
                           and not entry.nofail and not entry.noauto else
                           f"{when} silently runs without this swap")
            fix = (_add_swapfile_fix(host, entry.source) if kind == "file" else
                   f"point line {entry.line} at an existing device ('blkid -t TYPE=swap' lists "
                   "swap partitions) or delete it; add 'nofail' if the device is optional")
            yield Finding("SWAP002", f"swap {kind} {entry.source} named in fstab does not "
                                     f"exist: {consequence}",
                          doc.source.display, entry.line, evidence, fix, key=entry.source)


def _file_mode_finding(host: Host, real: Path, what: str, path: str | None,
                       line: int | None, origin: str) -> Finding | None:
    try:
        st = real.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o077:
        return None
    mode = stat.S_IMODE(st.st_mode)
    who = " and ".join(w for w, bits in (("group", 0o070), ("others", 0o007))
                       if st.st_mode & bits)
    inside = _inside(host, real)
    return Finding(
        "SWAP003", f"swap file {what} has mode {mode:04o}: readable or writable by {who}; "
                   "swapped-out memory (keys, passwords) leaks",
        path, line, [Evidence(f"{inside}: mode {mode:04o}, owner uid {st.st_uid}",
                              f"stat {real}" if host.mode == ROOT else "live: stat"),
                     Evidence(f"{what} is swap", origin)],
        f"chmod 600 {inside} && chown root:root {inside}", key=inside)


def check_swap003(host: Host):
    if host.mode not in (LIVE, ROOT):
        return  # a config repo has no files to stat
    seen: set[str] = set()
    for doc in _documents(host):
        for entry in doc.fstab.swaps:
            if not _is_file_source(entry):
                continue
            found, real = _exists(host, entry.source)
            if not found or real is None:
                continue
            seen.add(str(real))
            finding = _file_mode_finding(host, real, entry.source, doc.source.display,
                                         entry.line, _where(doc, entry.line))
            if finding:
                yield finding
    swaps = host.fact("swaps") if host.live else None
    for area in swaps.value if swaps else []:
        if area.type != "file" or _canonical(host, area.filename) in seen:
            continue
        found, real = _exists(host, area.filename)
        if found and real is not None:
            finding = _file_mode_finding(host, real, area.filename, None, None, swaps.source)
            if finding:
                yield finding


def check_swap004(host: Host):
    swaps = host.fact("swaps")
    if not host.live or swaps is None:
        return
    docs = _documents(host)
    elsewhere = _managed_elsewhere(host)
    zram_managed = any(p in _ZRAM_CONFIGS for p in elsewhere)
    unit_paths = {_canonical(host, p) for p in _swap_unit_paths(host, elsewhere)}
    active = {_canonical(host, a.filename): a for a in swaps.value}
    matched: set[str] = set()
    for doc in docs:
        for entry in doc.fstab.swaps:
            device = _device_path(entry)
            key = _canonical(host, device) if device else None
            area = active.get(key) if key else None
            if area is not None:
                matched.add(key)
                if entry.noauto:
                    yield Finding(
                        "SWAP004", f"swap {entry.source} is active but its fstab entry has "
                                   "noauto: it is not activated at the next boot",
                        doc.source.display, entry.line,
                        [Evidence(area.describe(), swaps.source),
                         Evidence(f"options {entry.options}", _where(doc, entry.line))],
                        f"remove noauto from line {entry.line} (e.g. options 'sw')",
                        key=entry.source)
            elif not entry.noauto:
                listed = ", ".join(a.filename for a in swaps.value) or "no active swap"
                yield Finding(
                    "SWAP004", f"fstab swap entry {entry.source} is not active: the swap "
                               "you planned for is not there",
                    doc.source.display, entry.line,
                    [Evidence(f"{entry.source} none swap {entry.options or ''}".rstrip(),
                              _where(doc, entry.line)),
                     Evidence(listed, swaps.source)],
                    f"swapon {entry.source} (or 'swapon -a'); if it fails, see SWAP002 or "
                    "'journalctl -b -u *.swap' for why it did not activate at boot",
                    key=entry.source)
    fstab = docs[0].source.display if docs else None
    if _in_container():
        return  # the host's swap, not governed by this fstab
    for key, area in active.items():
        if key in matched or key in unit_paths:
            continue
        if zram_managed and fnmatch.fnmatch(area.filename, "/dev/zram*"):
            continue
        yield Finding(
            "SWAP004", f"swap {area.filename} ({format_size(area.size)}) is active but not "
                       "in /etc/fstab: it is lost at the next reboot",
            fstab, None,
            [Evidence(area.describe(), swaps.source),
             Evidence("no matching swap entry", fstab or "/etc/fstab (absent)")],
            f"echo '{_fstab_field(area.filename)} none swap sw 0 0' >> /etc/fstab",
            key=area.filename)
