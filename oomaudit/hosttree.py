"""The host tree a config repository holds: ``hosts/web1/etc/...`` is web1's ``/``.

``check`` has no filesystem of its own, but a repository laid out like a host (an etckeeper
copy, ``hosts/NAME/etc/``, a role's ``files/etc/``) holds what an absolute include names:
``include=/etc/php/8.2/fpm/pool.d/*.conf`` is ``hosts/web1/etc/php/8.2/fpm/pool.d/*.conf``.
Such paths are looked up there, inside the tree as under ``--root``; a path the tree does
not hold stays unknown (the host may have it from a package), never a missing file.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .confine import CHROOT, Tree

_WILDCARD = re.compile(r"[*?[]")
# the prefixes a build keeps its own etc/ under: the Docker images' /usr/local/etc
_PREFIXES = (("usr", "local"), ("usr",))


def trees(paths: Iterable[Path]) -> list[Path]:
    """Each folder that stands for ``/`` for these files, once, in order, spelt as they are
    (relative paths give a relative tree, so an included file is the same path as the file
    discovery found): what comes before the last ``etc`` folder of each path (before
    ``usr/local/etc``'s ``usr``). A host's tree is the one of its files when there is one;
    with several (hosts in one without a host profile) which ``/`` an include means is
    unknown."""
    found: dict[str, Path] = {}
    for path in paths:
        parts = path.parts[:-1]
        if "etc" not in parts:
            continue
        cut = len(parts) - 1 - parts[::-1].index("etc")
        for prefix in _PREFIXES:
            if parts[max(cut - len(prefix), 0):cut] == prefix:
                cut -= len(prefix)
                break
        tree = Path(*parts[:cut])
        found.setdefault(os.path.abspath(tree), tree)
    return list(found.values())


def in_tree(tree: Path, path: str, relative_to: str, fs: Tree) -> Path | None:
    """Where ``path`` (absolute, or relative to ``relative_to`` on the host) is in ``tree``,
    as a chroot would find it, spelt as ``tree`` is; None when the repository (``fs``, the
    host's confined view of it) does not hold it (for a glob pattern: the folder before its
    first wildcard), or when the repository's symlinks go round in circles."""
    try:
        real = Tree(tree, CHROOT).inside(path, relative_to)
    except OSError:  # ELOOP
        return None
    probe = real
    while _WILDCARD.search(str(probe)) and probe != probe.parent:
        probe = probe.parent
    if not fs.exists(probe):
        return None
    return real if tree.is_absolute() else Path(os.path.relpath(real))


def upward(host, path: str, includer: Path) -> Path | None:
    """A repository's absolute include as MySQL's and redis's readers find it: ``path`` looked
    up from the including file's folder upwards (``hosts/db1/etc/mysql/my.cnf`` naming
    ``/etc/mysql/conf.d/`` reads ``hosts/db1/etc/mysql/conf.d/``), only inside the folder
    holding every file of the check, and spelled as the includer is (relative or absolute),
    so that a file is one file. None for a relative path (the server's working directory,
    unknown here) or where no such folder holds it."""
    if not path.startswith("/") or not host.files:
        return None
    floor = host.cache.get("hosttree.floor")
    if floor is None:  # once per host: a repository has thousands of files
        cwd = os.getcwd()  # Path.absolute(), without a getcwd per file
        floor = host.cache["hosttree.floor"] = os.path.commonpath(
            [os.path.dirname(os.path.join(cwd, p)) for _, p in host.files])
    below = floor.rstrip("/") + "/"
    inside = os.path.normpath(path).lstrip("/")
    for folder in includer.absolute().parents:
        found = folder / inside
        shown = str(found)  # the floor or below it: pathlib's spelling compared as text
        if (shown == floor or shown.startswith(below)) and host.fs.exists(found):
            return found if includer.is_absolute() else Path(os.path.relpath(found))
    return None
