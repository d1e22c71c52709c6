"""Effective units: which fragment and drop-ins systemd 252 merges for each unit.

Measured with ``systemd --test --system`` (tests/test_systemd_oracle.py):

* The search path is walked in order (``/etc/systemd/system.control`` ... ``/etc/systemd/
  system`` ... ``/usr/lib/systemd/system``); the first directory holding a name wins.
* A symlink to ``/dev/null`` or an empty file masks the name. A symlink whose target has
  the same name links a unit file from elsewhere; a symlink to another name makes an
  alias (``sshd.service -> /lib/systemd/system/ssh.service``), and the alias's drop-in
  directory applies too. ``Alias=`` in ``[Install]`` does nothing until ``systemctl
  enable`` creates that symlink.
* Drop-ins: ``*.conf`` in ``NAME.d/`` for every name of the unit, the template's
  ``foo@.service.d/`` for an instance, each dash prefix (``a-b-.service.d/``,
  ``a-.service.d/`` for ``a-b-c.service``) and the top-level ``service.d/``, in every
  directory of the path. They are applied sorted by file name; of two files with the same
  name the one found first (``/etc`` before ``/run`` before ``/usr``) is used and the
  other is not read at all; a ``/dev/null`` symlink masks the name.
* An instance (``postgresql@15-main.service``) uses its own file if there is one, else
  the template's (``postgresql@.service``).

A config repository has no search path, so :func:`from_files` merges what the layout
says (``etc/systemd/system/x.service.d/y.conf``, or flattened names such as
``etc__systemd__system__x.service.d__y.conf``) and keeps drop-ins of absent units as
partial units, so their settings are still audited.
"""
from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ..record import Record
from ..rootfs import resolve_in_root
from .systemd import (
    AUDITED_KEYS,
    MEMORY_LIMIT_DEPRECATED,
    TYPE_SECTIONS,
    UNIT_TYPES,
    Assignment,
    MemoryLimit,
    UnitText,
    misplaced,
    parse_memory_limit,
    parse_oom_score_adjust,
)

SEARCH_PATH = (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
    "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
    "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
)
_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(?:@[A-Za-z0-9:_.\\-]*)?\.(" + "|".join(UNIT_TYPES) + r")")
WANTS_SUFFIXES = (".wants", ".requires", ".upholds")


def unit_type(name: str) -> str | None:
    m = _NAME.fullmatch(name)
    return m.group(1) if m else None


def template_of(name: str) -> str | None:
    """``postgresql@15-main.service`` -> ``postgresql@.service``; None for other names."""
    stem, at, rest = name.partition("@")
    if not at:
        return None
    instance, dot, kind = rest.rpartition(".")
    return f"{stem}@.{kind}" if instance else None


def dropin_owners(name: str) -> list[str]:
    """The ``X`` of every ``X.d/`` directory whose drop-ins apply to unit ``name``: the name,
    its template, its dash prefixes (systemd's unit_file_find_dirs) and the bare type."""
    kind = str(unit_type(name))
    owners = [name]
    template = template_of(name)
    if template:
        owners.append(template)
    prefix = name.partition("@")[0] if "@" in name else name.rsplit(".", 1)[0]
    while True:
        chopped = False
        while True:
            dash = prefix.rfind("-")
            if dash <= 0:
                return [*owners, kind]
            if dash + 1 < len(prefix) or chopped:
                break
            prefix, chopped = prefix[:dash], True  # a trailing dash is chopped, once
        prefix = prefix[:dash + 1]
        owners.append(f"{prefix}.{kind}")


class UnitFile(Record):
    """One file systemd reads for a unit: where it is and what it says."""

    def __init__(self, display: str, inside: str, text: UnitText, kind: str | None,
                 source: Any = None, masked: bool = False):
        self.display = display  # how findings name it
        self.inside = inside  # the path on the audited system
        self.text = text
        self.kind = kind  # unit type the file is read as
        self.source = source  # the oomaudit Source, for its CONF problems
        self.masked = masked

    __eq__ = Record.same_content

    @property
    def basename(self) -> str:
        """The name drop-ins sort and shadow by (``override.conf`` for a flattened name)."""
        return logical_path(self.inside).rsplit("/", 1)[-1]


class Setting(NamedTuple):
    """The value in force and the line that set it."""

    value: Any  # int (OOMScoreAdjust) or MemoryLimit
    file: UnitFile
    assignment: Assignment

    @property
    def where(self) -> str:
        return f"{self.file.display}:{self.assignment.line}"


class Issue(NamedTuple):
    """A line of an audited setting that systemd ignores or warns about."""

    file: UnitFile
    assignment: Assignment
    message: str


class Unit(Record):
    """A unit as systemd merges it: its fragment (the template's, for an instance without a
    file of its own) and its drop-ins, in the order they are applied."""

    def __init__(self, name: str, fragment: UnitFile | None,
                 dropins: list[UnitFile] | None = None, aliases: list[str] | None = None,
                 masked: bool = False, template: str | None = None,
                 instances: list[str] | None = None):
        self.name = name
        self.fragment = fragment  # None: only drop-ins were found (config repository)
        self.dropins = [] if dropins is None else dropins
        self.aliases = [] if aliases is None else aliases
        self.masked = masked
        self.template = template  # an instance read from its template's file
        self.instances = [] if instances is None else instances  # a template with known instances

    __eq__ = Record.same_content

    @property
    def kind(self) -> str:
        return unit_type(self.name) or "service"

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    @property
    def is_template(self) -> bool:
        return self.name.partition("@")[2].startswith(".")

    @property
    def loads(self) -> bool:
        """systemd would load it: a fragment that is neither masked nor refused."""
        return (self.fragment is not None and not self.masked
                and not any(f.text.fatal for f in self.files()))

    def files(self) -> list[UnitFile]:
        """The files systemd reads, in order; it stops at one it refuses (``fatal``)."""
        read = []
        for unit_file in ([self.fragment] if self.fragment else []) + self.dropins:
            if not unit_file.masked:
                read.append(unit_file)
                if unit_file.text.fatal:
                    break
        return read

    def assignments(self) -> Iterator[tuple[UnitFile, Assignment]]:
        for unit_file in self.files():
            for a in unit_file.text.assignments:
                yield unit_file, a

    def setting(self, key: str) -> Setting | None:
        """The effective value of an audited key (OOMScoreAdjust or a memory limit): the last
        valid assignment after the last empty one; None when unset or reset."""
        section = TYPE_SECTIONS.get(self.kind, "Service")
        current = None
        for unit_file, a in self.assignments():
            if a.key != key or a.section != section:
                continue
            if a.value == "":
                current = None
                continue
            try:
                value = (parse_oom_score_adjust(a.value) if key == "OOMScoreAdjust"
                         else parse_memory_limit(key, a.value))
            except ValueError:
                continue
            current = Setting(value, unit_file, a)
        return current

    def memory(self, key: str) -> Setting | None:
        """A memory limit that caps the unit (unset, reset and ``infinity`` are None)."""
        found = self.setting(key)
        if found is None or (isinstance(found.value, MemoryLimit) and found.value.infinite):
            return None
        return found

    def values(self, key: str, section: str | None = None) -> list[tuple[UnitFile, Assignment]]:
        """A list setting (``ExecStart``): what follows the last empty assignment."""
        section = section or TYPE_SECTIONS.get(self.kind, "Service")
        found: list[tuple[UnitFile, Assignment]] = []
        for unit_file, a in self.assignments():
            if a.key == key and a.section == section:
                found = [] if a.value == "" else [*found, (unit_file, a)]
        return found

    def issues(self) -> Iterator[Issue]:
        """systemd's warnings about audited settings in this unit's files."""
        for unit_file in self.files():
            yield from file_issues(unit_file)


def file_issues(unit_file: UnitFile) -> Iterator[Issue]:
    for a in unit_file.text.assignments:
        wrong = misplaced(a, unit_file.kind)
        if wrong:
            yield Issue(unit_file, a, wrong)
            continue
        if a.key == "MemoryLimit" and a.value == "":
            yield Issue(unit_file, a, MEMORY_LIMIT_DEPRECATED)  # systemd warns on a reset too
            continue
        if a.key not in AUDITED_KEYS or a.value == "":
            continue
        try:
            if a.key == "OOMScoreAdjust":
                parse_oom_score_adjust(a.value)
            else:
                parse_memory_limit(a.key, a.value)
        except ValueError as exc:
            yield Issue(unit_file, a, str(exc))
            continue
        if a.key == "MemoryLimit":
            yield Issue(unit_file, a, MEMORY_LIMIT_DEPRECATED)


class UnitSet(Record):
    """The units of a host or config repository by name (``tree/name`` when a repository holds
    several trees); ``problems`` are search-path directories that could not be listed."""

    def __init__(self, units: dict[str, Unit] | None = None, enabled: set[str] | None = None,
                 problems: list[tuple[str, str]] | None = None):
        self.units = {} if units is None else units
        self.enabled = set() if enabled is None else enabled  # names linked from *.wants/ etc.
        self.problems = [] if problems is None else problems  # (what, why) not read

    def find(self, pattern: str) -> list[Unit]:
        """Units whose name or alias matches ``pattern`` (``ssh``, ``sshd.service``,
        ``postgresql@*``), each once; a template stands for itself only while no instance
        of it is known."""
        found = []
        for unit in self.units.values():
            if unit.is_template and unit.instances:
                continue
            for name in unit.names:
                stem = name.rsplit(".", 1)[0]
                if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(stem, pattern):
                    found.append(unit)
                    break
        return found

    def loaded(self) -> list[Unit]:
        return [u for u in self.units.values()
                if u.loads and not (u.is_template and u.instances)]

    def all_files(self) -> list[UnitFile]:
        seen: dict[str, UnitFile] = {}
        for unit in self.units.values():
            for f in unit.files():
                seen.setdefault(f.display, f)
        return list(seen.values())


Reader = Callable[[Path, str], "UnitFile | None"]  # (real path, path inside) -> parsed file


# --- a host's tree -----------------------------------------------------------------------

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
        _add_instance(units, name)
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


def _add_instance(units: dict[str, Unit], name: str) -> None:
    """An instance named somewhere (``.wants/``, a drop-in directory, a running process)
    reads its template's file unless it has its own."""
    template = template_of(name)
    if not template or template not in units:
        return
    base = units[template]
    if name not in units:
        units[name] = Unit(name, base.fragment, masked=base.masked, template=template)
    if name not in base.instances:
        base.instances.append(name)


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


# --- a config repository -----------------------------------------------------------------

_DROPIN = re.compile(r"(?:^|/)([^/]+)\.d/[^/]+\.conf$")


def logical_path(relpath: str) -> str:
    """A flattened name (``etc__systemd__system__x.service.d__y.conf``) read as the path it
    stands for; a real path is returned as it is."""
    folder, _, base = relpath.rpartition("/")
    if "__" not in base:
        return relpath
    return f"{folder}/{base.replace('__', '/')}" if folder else base.replace("__", "/")


def owner_of(path: str) -> str:
    """The unit a file belongs to by its (logical) path: ``X`` for ``.../X.d/y.conf``, else
    the file's own name."""
    m = _DROPIN.search(path)
    return m.group(1) if m else path.rsplit("/", 1)[-1]


def _priority(path: str) -> int:
    padded = "/" + path
    for index, inside in enumerate(SEARCH_PATH):
        if inside + "/" in padded:
            return index
    return len(SEARCH_PATH)


def tree_root(path: str) -> str:
    """Which tree a repository file belongs to: the folder above its ``etc/systemd/system``
    (or other search-path folder); else the folder holding the unit or its ``X.d``."""
    padded = "/" + path
    for inside in SEARCH_PATH:
        at = padded.find(inside + "/")
        if at >= 0:
            return padded[1:at]
    m = _DROPIN.search(path)
    folder = path[:m.start()] if m else path.rpartition("/")[0]
    return folder.lstrip("/")


def from_files(files: list[tuple[str, UnitFile]]) -> UnitSet:
    """Units of a config repository from ``(relative path, parsed file)`` pairs. Files merge
    only with files of the same tree (:func:`tree_root`): two repositories' ``mysql.service``
    in one folder are two units."""
    trees: dict[str, list[tuple[str, UnitFile]]] = {}
    for relpath, unit_file in files:
        path = logical_path(relpath)
        trees.setdefault(tree_root(path), []).append((path, unit_file))
    result = UnitSet()
    for root, members in trees.items():
        for name, unit in _merge_tree(members).items():
            result.units[f"{root}/{name}" if len(trees) > 1 else name] = unit
    return result


def _merge_tree(files: list[tuple[str, UnitFile]]) -> dict[str, Unit]:
    fragments: dict[str, tuple[int, UnitFile]] = {}
    dropins: list[tuple[str, int, UnitFile]] = []
    for path, unit_file in files:
        owner = owner_of(path)
        if _DROPIN.search(path) or not unit_type(owner):
            dropins.append((owner, _priority(path), unit_file))
            continue
        best = fragments.get(owner)
        if best is None or _priority(path) < best[0]:
            fragments[owner] = (_priority(path), unit_file)
    units = {name: Unit(name, unit_file) for name, (_prio, unit_file) in fragments.items()}
    for name in list(units):
        _add_instance(units, name)
    for owner, _prio, _file in dropins:
        if unit_type(owner) and not owner.endswith("-." + str(unit_type(owner))):
            _add_instance(units, owner)
            units.setdefault(owner, Unit(owner, None))
    for unit in units.values():
        owners = set(dropin_owners(unit.name))
        chosen: dict[str, tuple[int, UnitFile]] = {}
        for owner, prio, unit_file in dropins:
            if owner in owners and (unit_file.basename not in chosen
                                    or prio < chosen[unit_file.basename][0]):
                chosen[unit_file.basename] = (prio, unit_file)
        unit.dropins = [chosen[b][1] for b in sorted(chosen)]
    for owner, _prio, unit_file in dropins:  # a snippet whose unit the path does not name
        if not unit_type(owner) and owner not in UNIT_TYPES:
            units[unit_file.display] = Unit(unit_file.display, None, [unit_file])
    return units
