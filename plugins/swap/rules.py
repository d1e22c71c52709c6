"""SWAP001-SWAP004 and their fixes: no swap at boot, a swap file or device that is not
there, a swap file others can read, and active swap that fstab does not persist (or the
reverse)."""
from __future__ import annotations

import fnmatch
import stat
from pathlib import Path

from oomaudit import Evidence, Finding
from oomaudit.host import LIVE, ROOT, Fact, Host
from oomaudit.parsers.fstab import FstabEntry, commented_swaps
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .constants import PROC_SWAPS
from .document import FstabDocument
from .places import (
    ZRAM_CONFIGS,
    canonical,
    checkable,
    device_path,
    exists,
    host_path,
    in_container,
    is_file_source,
    managed_elsewhere,
    swap_unit_paths,
)

GIB = 1 << 30


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
    return snippet(f"add a swap file ({basis}):\n"
                   f"fallocate -l {_size_arg(size)} {{path:sh}} && chmod 600 {{path:sh}} && "
                   "mkswap {path:sh} && swapon {path:sh}\n"
                   "echo {line:sh} >> /etc/fstab", path=path,
                   line=f"{_fstab_field(path)} none swap sw 0 0")


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
        managed_elsewhere(host) if host.mode in (LIVE, ROOT) else [])
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
            path = checkable(host, entry)
            if path is None:
                continue
            found, real = exists(host, path)
            if found:
                continue
            kind = "file" if is_file_source(entry) else "device"
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
        st = host.fs.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o077:
        return None
    mode = stat.S_IMODE(st.st_mode)
    who = " and ".join(w for w, bits in (("group", 0o070), ("others", 0o007))
                       if st.st_mode & bits)
    inside = host_path(host, real)
    return Finding(
        "SWAP003", f"swap file {what} has mode {mode:04o}: readable or writable by {who}; "
                   "swapped-out memory (keys, passwords) leaks",
        path, line, [Evidence(f"{inside}: mode {mode:04o}, owner uid {st.st_uid}",
                              f"stat {real}" if host.mode == ROOT else "live: stat"),
                     Evidence(f"{what} is swap", origin)],
        snippet("chmod 600 {path:sh} && chown root:root {path:sh}", path=inside), key=inside)


def check_swap003(host: Host):
    if host.mode not in (LIVE, ROOT):
        return  # a config repo has no files to stat
    seen: set[str] = set()
    for doc in _documents(host):
        for entry in doc.fstab.swaps:
            if not is_file_source(entry):
                continue
            found, real = exists(host, entry.source)
            if not found or real is None:
                continue
            seen.add(str(real))
            finding = _file_mode_finding(host, real, entry.source, doc.source.display,
                                         entry.line, _where(doc, entry.line))
            if finding:
                yield finding
    swaps = host.fact("swaps") if host.live else None
    for area in swaps.value if swaps else []:
        if area.type != "file" or canonical(host, area.filename) in seen:
            continue
        found, real = exists(host, area.filename)
        if found and real is not None:
            finding = _file_mode_finding(host, real, area.filename, None, None, swaps.source)
            if finding:
                yield finding


def check_swap004(host: Host):
    swaps = host.fact("swaps")
    if not host.live or swaps is None:
        return
    docs = _documents(host)
    elsewhere = managed_elsewhere(host)
    zram_managed = any(p in ZRAM_CONFIGS for p in elsewhere)
    unit_paths = {canonical(host, p) for p in swap_unit_paths(host, elsewhere)}
    active = {canonical(host, a.filename): a for a in swaps.value}
    matched: set[str] = set()
    for doc in docs:
        for entry in doc.fstab.swaps:
            device = device_path(entry)
            key = canonical(host, device) if device else None
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
                    snippet("swapon {path:sh} (or 'swapon -a'); if it fails, see SWAP002 or "
                            "'journalctl -b -u *.swap' for why it did not activate at boot",
                            path=entry.source),
                    key=entry.source)
    fstab = docs[0].source.display if docs else None
    if in_container():
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
            snippet("echo {line:sh} >> /etc/fstab",
                    line=f"{_fstab_field(area.filename)} none swap sw 0 0"),
            key=area.filename)
