"""Resolve paths inside an audited tree the way a chroot would.

Under ``--root DIR`` a config that names ``/etc/mysql/conf.d`` or a symlink to
``/usr/lib/...`` must land inside DIR, never on the machine running the audit.
``Path.resolve`` follows absolute symlinks out of the tree, so we walk the
components ourselves: absolute targets restart at the root, ``..`` stops at it.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path, PurePosixPath

MAX_SYMLINKS = 40  # the kernel's limit before ELOOP


def resolve_in_root(root: Path, path: str | os.PathLike, cwd: str = "/") -> Path:
    """Map ``path`` (absolute, or relative to ``cwd`` inside the tree) to a real path under
    ``root``. Raises OSError(ELOOP) on a symlink loop; a missing component is fine (the
    caller's open() reports it)."""
    pending = list(PurePosixPath(cwd, path).parts)
    pending.reverse()
    inside: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("/", "", "."):
            continue
        if part == "..":
            if inside:
                inside.pop()
            continue
        candidate = root.joinpath(*inside, part)
        if _is_symlink(candidate):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", str(path))
            target = PurePosixPath(os.readlink(candidate))
            if target.is_absolute():
                inside = []
            pending.extend(reversed(target.parts))
            continue
        inside.append(part)
    return root.joinpath(*inside)


def _is_symlink(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:  # a directory the audit may not search: the caller's open() says so
        return False


def realpath(path: str | os.PathLike) -> Path:
    """``Path.resolve()`` for paths a config names: it raises RuntimeError on a symlink
    loop, ``os.path.realpath`` leaves the loop as it is (reading it then gives ELOOP,
    a CONF003)."""
    return Path(os.path.realpath(path))


def may_exist(path: Path) -> bool:
    """False only when ``path`` is known to be absent. Behind a directory the audit may not
    search (``/var/lib/postgresql`` is 0700 to anyone but postgres) it may be there: reading
    it then names it as unreadable (CONF003, "run as root") instead of passing it by."""
    try:
        return path.exists()
    except OSError:
        return True


def inside_path(root: Path, real: Path) -> str:
    """The path as the audited system sees it: ``ROOT/etc/fstab`` -> ``/etc/fstab``."""
    try:
        return "/" + real.relative_to(root).as_posix()
    except ValueError:
        return str(real)
