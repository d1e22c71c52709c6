"""Where a swap area named in fstab is on this host, as far as the host's mode lets us
look (a tree has no block devices; a config repository has no files at all), and the swap
set up without fstab (zram-generator, dphys-swapfile, systemd .swap units)."""
from __future__ import annotations

import re
from pathlib import Path

from oomaudit.host import LIVE, ROOT, Host
from oomaudit.parsers.fstab import FstabEntry
from oomaudit.procfs import live_exists

# Swap that systemd or a distribution service sets up without an fstab line.
ZRAM_CONFIGS = ("/etc/systemd/zram-generator.conf", "/usr/lib/systemd/zram-generator.conf")
DPHYS_CONFIG = "/etc/dphys-swapfile"


def is_file_source(entry: FstabEntry) -> bool:
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


def device_path(entry: FstabEntry) -> str | None:
    """The path udev gives the entry's device (a file's own path); None: no path."""
    tag = entry.tag
    if tag is None:
        return entry.source if entry.source.startswith("/") else None
    name, value = tag
    return f"/dev/disk/by-{name.lower()}/{_udev_encode(value)}"


def checkable(host: Host, entry: FstabEntry) -> str | None:
    """The path whose existence this host can honestly test, or None."""
    if is_file_source(entry):
        return entry.source if host.mode in (LIVE, ROOT) else None
    if host.mode != LIVE or not host.fs.is_dir("/dev/disk"):
        return None  # a tree has no devices; without udev, /dev says nothing either
    return device_path(entry)


def exists(host: Host, path: str) -> tuple[bool, Path | None]:
    """Whether ``path`` exists on this host, and the real path looked at (None when it
    cannot be resolved)."""
    try:
        real = host.resolve(path)
    except OSError:  # symlink loop inside the tree
        return False, None
    if real is None:
        return False, None
    if host.fs.exists(real):
        return True, real
    if "/dev/disk/by-uuid/" in path:  # vfat/ntfs UUIDs are upper case in fstab, lower in udev
        lower = host.resolve(path.lower())
        if lower is not None and host.fs.exists(lower):
            return True, lower
    return False, real


def canonical(host: Host, path: str) -> str:
    """``path`` with its symlinks resolved on this host, to match fstab entries with
    /proc/swaps; unchanged when it cannot be resolved."""
    try:
        real = host.resolve(path)
    except OSError:
        return path
    return str(real) if real is not None else path


def host_path(host: Host, real: Path) -> str:
    """``real`` as the audited system names it (a tree's file without the tree's folder)."""
    if host.mode == ROOT and host.root is not None:
        try:
            return "/" + real.relative_to(host.root).as_posix()
        except ValueError:
            pass
    return str(real)


def managed_elsewhere(host: Host) -> list[str]:
    """Swap set up without fstab: zram-generator, dphys-swapfile, systemd .swap units."""
    found = []
    for path in (*ZRAM_CONFIGS, DPHYS_CONFIG):
        real = host.resolve(path)
        if real is not None and host.fs.is_file(real):
            found.append(path)
    for folder in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        real = host.resolve(folder)
        if real is not None and host.fs.is_dir(real):
            found += [f"{folder}/{p.name}" for p in host.fs.glob(real / "*.swap")]
    return found


def swap_unit_paths(host: Host, units: list[str]) -> set[str]:
    """The swap areas that the .swap units (What=) and dphys-swapfile (CONF_SWAPFILE)
    among ``units`` set up."""
    paths = set()
    for unit in units:
        real = host.resolve(unit)
        if unit.endswith(".swap") and real is not None:
            try:
                text = host.fs.read_text(real)
            except OSError:
                continue
            paths.update(m.group(1).strip() for m in re.finditer(r"(?m)^\s*What=(.+)$", text))
        elif unit == DPHYS_CONFIG and real is not None:
            try:
                text = host.fs.read_text(real)
            except OSError:
                continue
            m = re.search(r"(?m)^\s*CONF_SWAPFILE=[\"']?([^\"'\s]+)", text)
            paths.add(m.group(1) if m else "/var/swap")
    return paths


def in_container() -> bool:
    """/proc/swaps is not namespaced: a container sees the host's swap areas."""
    return any(live_exists(p) for p in ("/.dockerenv", "/run/.containerenv"))
