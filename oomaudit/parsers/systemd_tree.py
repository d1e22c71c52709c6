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
import stat
from collections.abc import Callable
from pathlib import Path

from ..confine import Tree
from ..record import Record
from .systemd import UnitText
from .systemd_names import SEARCH_PATH, dropin_owners, unit_type
from .systemd_units import Unit, UnitFile, UnitSet, add_instance, within_budget

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


def from_tree(fs: Tree, read: Reader, extra_names: tuple[str, ...] = ()) -> UnitSet:
    """The units of a host, whose files ``fs`` holds (its Tree: ``/`` itself when live).
    ``read`` parses a file (through the host, so unreadable files become CONF003);
    ``extra_names`` are units known to exist (running instances)."""
    result = UnitSet()
    dirs = _search_dirs(fs)
    entries: dict[str, _Entry] = {}
    dropin_dirs: list[tuple[int, str, Path, str]] = []  # (dir index, owner, real, inside)
    for index, (inside_dir, real_dir) in enumerate(dirs):
        try:
            names = fs.listdir(real_dir)
        except OSError as exc:
            result.problems.append((inside_dir, exc.strerror or str(exc)))
            continue
        for name in names:
            real, inside = real_dir / name, f"{inside_dir}/{name}"
            if name.endswith(WANTS_SUFFIXES) and fs.is_dir(real):
                result.enabled.update(_list(fs, real))
            elif name.endswith(".d") and fs.is_dir(real):
                dropin_dirs.append((index, name[:-2], real, inside))
            elif unit_type(name) and name not in entries:
                entries[name] = _entry(fs, real, inside, name)
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
    dropins = _Dropins(fs, read, dropin_dirs)
    for unit in units.values():
        unit.dropins = dropins.of(unit)
    return result


def _search_dirs(fs: Tree) -> list[tuple[str, Path]]:
    found, seen = [], set()
    for inside in SEARCH_PATH:
        try:
            real = fs.inside(inside)
        except OSError:
            continue
        key = fs.identity(real)
        if fs.is_dir(real) and key not in seen:
            seen.add(key)
            found.append((inside, real))
    return found


def _list(fs: Tree, folder: Path) -> list[str]:
    try:
        return fs.listdir(folder)
    except OSError:
        return []


def _entry(fs: Tree, real: Path, inside: str, name: str) -> _Entry:
    target = fs.readlink(real)
    if target is not None:
        if target == "/dev/null":
            return _Entry(real, inside, masked=True)
        try:
            resolved = fs.inside(target, inside.rsplit("/", 1)[0])
        except OSError:
            return _Entry(real, inside, masked=False)
        base = os.path.basename(target.rstrip("/"))
        target_inside = os.path.normpath(os.path.join(os.path.dirname(inside), target))
        if base != name and unit_type(base) == unit_type(name):
            return _Entry(resolved, target_inside, alias_of=base)
        return _Entry(resolved, target_inside)
    return _Entry(real, inside, masked=_empty(fs, real))


def _empty(fs: Tree, real: Path) -> bool:
    """An empty file or a character device (/dev/null) masks the name it has."""
    try:
        found = fs.stat(real)
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_size == 0 or stat.S_ISCHR(found.st_mode)


def _fragment(entry: _Entry, read: Reader) -> UnitFile | None:
    if entry.masked:
        return None
    return read(entry.real, entry.inside)


class _Dropins(Record):
    """A host's drop-ins as every unit they apply to reads them: each folder listed once and
    each file looked at once (the top-level ``service.d/`` applies to every service)."""

    def __init__(self, fs: Tree, read: Reader, folders: list[tuple[int, str, Path, str]]):
        self.fs, self.read = fs, read
        self.folders = sorted(folders, key=lambda d: d[0])  # (dir index, owner, real, inside)
        self.listed: dict[Path, list[tuple[str, Path, str]]] = {}  # (conf, real, inside)
        # a file read, None for a mask (empty, /dev/null), False when unreadable (the host
        # noted why)
        self.loaded: dict[Path, UnitFile | None | bool] = {}

    def of(self, unit: Unit) -> list[UnitFile]:
        """The unit's drop-ins, read in the order systemd applies them until the include
        budget is spent (``within_budget``)."""
        chosen: dict[str, tuple[Path, str]] = {}
        for name in unit.names:
            owners = dropin_owners(name)
            for _index, owner, real_dir, inside_dir in self.folders:
                if owner in owners:
                    for conf, real, inside in self._list(real_dir, inside_dir):
                        chosen.setdefault(conf, (real, inside))
        return within_budget(unit.name, self._files(unit, chosen), unit.fragment)

    def _list(self, real_dir: Path, inside_dir: str) -> list[tuple[str, Path, str]]:
        if real_dir not in self.listed:
            self.listed[real_dir] = [(c, real_dir / c, f"{inside_dir}/{c}")
                                     for c in sorted(_list(self.fs, real_dir))
                                     if c.endswith(".conf")]
        return self.listed[real_dir]

    def _files(self, unit: Unit, chosen: dict[str, tuple[Path, str]]):
        for conf in sorted(chosen):
            real, inside = chosen[conf]
            if real not in self.loaded:
                self.loaded[real] = None if _masked_file(self.fs, real) else \
                    self.read(real, inside) or False
            parsed = self.loaded[real]
            if parsed is None:  # listed by systemd, but empty: it hides the name
                yield UnitFile(inside, inside, UnitText(), unit_type(unit.name), masked=True)
            elif parsed:
                yield parsed


def _masked_file(fs: Tree, real: Path) -> bool:
    return fs.readlink(real) == "/dev/null" or _empty(fs, real)
