"""A host's units: which fragment and drop-ins systemd 252 merges for each unit name on
its search path, on a live host or under ``--root``.

Measured with ``systemd --test --system`` (tests/systemd/test_systemd_oracle.py):

* The search path is walked in order (``/etc/systemd/system.control`` ... ``/etc/systemd/
  system`` ... ``/usr/lib/systemd/system``); the first directory holding a name wins.
* A symlink to ``/dev/null`` or an empty file masks the name. A symlink whose target has
  the same name links a unit file from elsewhere; a symlink to another name makes an
  alias (``sshd.service -> /lib/systemd/system/ssh.service``), and the alias's drop-in
  directory applies too. ``Alias=`` in ``[Install]`` does nothing until ``systemctl
  enable`` creates that symlink.
* Drop-ins (whose directories apply is :func:`~oomaudit.parsers.systemd_names.dropin_owners`)
  are looked for in every directory of the path. Of two files with the same name the one
  found first (``/etc`` before ``/run`` before ``/usr``) is used and the other is not read
  at all; a ``/dev/null`` symlink masks the name.
* An instance is known from ``.wants/`` links, a drop-in directory or, live, a running
  process; it reads its template's file unless it has its own.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..record import Record
from ..rootfs import resolve_in_root
from .systemd import UnitText
from .systemd_names import SEARCH_PATH, dropin_owners, unit_type
from .systemd_units import Unit, UnitFile, UnitSet, add_instance

WANTS_SUFFIXES = (".wants", ".requires", ".upholds")

Reader = Callable[[Path, str], "UnitFile | None"]  # (real path, path inside) -> parsed file


class _Entry(Record):
    """A unit name found on the search path: the file it reads (a symlink followed inside the
    root), an alias of another name (``alias_of``), or masked."""

    def __init__(self, real: Path, inside: str, alias_of: str | None = None,
                 masked: bool = False):
        self.real = real
        self.inside = inside
        self.alias_of = alias_of
        self.masked = masked


def from_tree(root: Path, read: Reader, extra_names: tuple[str, ...] = ()) -> UnitSet:
    """The units of a host whose ``/`` is ``root`` (``/`` itself when live). ``read`` parses a
    file (through the host, so unreadable files become CONF003); ``extra_names`` are units
    known to exist (running instances)."""
    result = UnitSet()
    dirs = _search_dirs(root)
    entries: dict[str, _Entry] = {}
    dropin_dirs: list[tuple[int, str, Path, str]] = []  # (dir index, owner, real, inside)
    for index, (inside_dir, real_dir) in enumerate(dirs):
        try:
            names = sorted(os.listdir(real_dir))
        except OSError as exc:
            result.problems.append((inside_dir, exc.strerror or str(exc)))
            continue
        for name in names:
            real, inside = real_dir / name, f"{inside_dir}/{name}"
            if name.endswith(WANTS_SUFFIXES) and real.is_dir():
                result.enabled.update(_list(real))
            elif name.endswith(".d") and real.is_dir():
                dropin_dirs.append((index, name[:-2], real, inside))
            elif unit_type(name) and name not in entries:
                entries[name] = _entry(root, real, inside, name)
    units = result.units
    for name, entry in entries.items():
        if entry.alias_of is None:
            units[name] = Unit(name, _fragment(entry, read), masked=entry.masked)
    for name, entry in entries.items():
        target = entry.alias_of
        if target is None:
            continue
        if target not in units:
            units[target] = Unit(target, _fragment(entry, read))
        units[target].aliases.append(name)
    for name in sorted({*units, *result.enabled, *extra_names, *(d[1] for d in dropin_dirs)}):
        add_instance(units, name)
    for unit in units.values():
        unit.dropins = _dropins(unit, dropin_dirs, read)
    return result


def _search_dirs(root: Path) -> list[tuple[str, Path]]:
    found, seen = [], set()
    for inside in SEARCH_PATH:
        try:
            real = resolve_in_root(root, inside)
        except OSError:
            continue
        key = os.path.realpath(real)
        if real.is_dir() and key not in seen:
            seen.add(key)
            found.append((inside, real))
    return found


def _list(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _entry(root: Path, real: Path, inside: str, name: str) -> _Entry:
    if real.is_symlink():
        try:
            target = os.readlink(real)
        except OSError:
            return _Entry(real, inside)
        if target == "/dev/null":
            return _Entry(real, inside, masked=True)
        try:
            resolved = resolve_in_root(root, target, inside.rsplit("/", 1)[0])
        except OSError:
            return _Entry(real, inside, masked=False)
        base = os.path.basename(target.rstrip("/"))
        target_inside = os.path.normpath(os.path.join(os.path.dirname(inside), target))
        if base != name and unit_type(base) == unit_type(name):
            return _Entry(resolved, target_inside, alias_of=base)
        return _Entry(resolved, target_inside)
    return _Entry(real, inside, masked=_empty(real))


def _empty(real: Path) -> bool:
    try:
        return real.is_file() and real.stat().st_size == 0 or real.is_char_device()
    except OSError:
        return False


def _fragment(entry: _Entry, read: Reader) -> UnitFile | None:
    if entry.masked:
        return None
    return read(entry.real, entry.inside)


def _dropins(unit: Unit, dropin_dirs: list[tuple[int, str, Path, str]],
             read: Reader) -> list[UnitFile]:
    chosen: dict[str, tuple[Path, str]] = {}
    for name in unit.names:
        owners = dropin_owners(name)
        for _index, owner, real_dir, inside_dir in sorted(dropin_dirs, key=lambda d: d[0]):
            if owner not in owners:
                continue
            for conf in sorted(_list(real_dir)):
                if conf.endswith(".conf") and conf not in chosen:
                    chosen[conf] = (real_dir / conf, f"{inside_dir}/{conf}")
    files = []
    for conf in sorted(chosen):
        real, inside = chosen[conf]
        if _masked_file(real):  # listed by systemd, but empty: it hides the same name
            files.append(UnitFile(inside, inside, UnitText(), unit_type(unit.name),
                                  masked=True))
            continue
        parsed = read(real, inside)
        if parsed is not None:
            files.append(parsed)
    return files


def _masked_file(real: Path) -> bool:
    if real.is_symlink():
        try:
            if os.readlink(real) == "/dev/null":
                return True
        except OSError:
            return False
    return _empty(real)
