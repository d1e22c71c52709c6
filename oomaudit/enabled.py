"""Debian's ``*-available``/``*-enabled`` folders in a config repository: which of its files
are in force.

apache2 (a2enmod, a2enconf, a2ensite) and nginx keep what *could* be enabled in
``mods-available/``, ``conf-available/``, ``sites-available/`` (nginx's
``sites-available/``, ``modules-available/``) and link what is into the ``*-enabled/``
folder beside it, which the main file includes; nothing includes an ``*-available`` folder.
So where a repository holds the enabled folder or the main file, a file of the available
folder is in force only when the enabled folder links it: an ``mpm_prefork.conf`` beside
an enabled ``mpm_event`` is an alternative nobody runs. A repository that holds only
``*-available`` files says nothing of what is enabled: they are judged as fragments.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

AVAILABLE = "-available"


def in_force(fs, path: Path, mains: tuple[str, ...]) -> bool:
    """False for a file of a ``KIND-available`` folder that ``KIND-enabled`` beside it does
    not link, when the repository holds that folder or one of the ``mains`` (the main
    files, which include the enabled folder only). ``fs``: the host's Tree."""
    folder = path.parent
    if not folder.name.endswith(AVAILABLE):
        return True
    enabled = folder.parent / (folder.name[:-len(AVAILABLE)] + "-enabled")
    try:
        names = fs.listdir(enabled)
    except OSError:  # no enabled folder: the main file decides, when there is one
        return not any(fs.is_file(folder.parent / main) for main in mains)
    return any(_links(fs, enabled / name, folder.name, path.name) for name in names)


def files_in_force(fs, paths: Iterable[Path], mains: tuple[str, ...]) -> list[Path]:
    """The given files in force, each once: an enabled link and the file it links to are
    one file, named by the link (the path the program reads it through)."""
    kept, seen = [], set()
    for path in sorted(paths, key=lambda p: p.parent.name.endswith(AVAILABLE)):
        real = fs.identity(path)
        if real not in seen and in_force(fs, path, mains):
            seen.add(real)
            kept.append(path)
    return kept


def _links(fs, entry: Path, folder: str, name: str) -> bool:
    """``entry`` is a symlink to ``FOLDER/NAME``: a2enmod's relative link
    (``../mods-available/x.conf``) or an absolute one (``/etc/nginx/sites-available/x``),
    which in a repository points at the host's path, not at the file beside it. A copy is
    no link: the enabled folder's own file is what is read."""
    target = fs.readlink(entry)
    if target is None:
        return False
    return Path(os.path.normpath(target)).parts[-2:] == (folder, name)
