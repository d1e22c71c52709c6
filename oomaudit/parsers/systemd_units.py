"""A systemd unit as systemd merges it: its names, the files it reads, the settings in force.

What the two merges share (:mod:`oomaudit.parsers.systemd_tree` for a host's search path,
:mod:`oomaudit.parsers.systemd_repo` for a config repository's files), as measured with
``systemd --test --system`` (tests/systemd/test_systemd_oracle.py):

* A unit's drop-ins are the ``*.conf`` in ``NAME.d/`` for every name of the unit, the
  template's ``foo@.service.d/`` for an instance, each dash prefix (``a-b-.service.d/``,
  ``a-.service.d/`` for ``a-b-c.service``) and the top-level ``service.d/``. They are
  applied sorted by file name; a file systemd refuses stops the reading of the unit.
* An instance (``postgresql@15-main.service``) uses its own file if there is one, else
  the template's (``postgresql@.service``).
* A setting in force is the last valid assignment after the last empty one; a value
  systemd refuses is ignored with its warning (:func:`file_issues`).
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from ..includes import IncludeBudget
from ..record import Record
from .systemd import AUDITED_KEYS, TYPE_SECTIONS, Assignment, UnitText, misplaced
from .systemd_names import TEMPLATE, logical_path, name_form, template_of, unit_type
from .systemd_values import (
    MEMORY_LIMIT_DEPRECATED,
    MemoryLimit,
    parse_memory_limit,
    parse_oom_score_adjust,
)


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
        return name_form(self.name) == TEMPLATE

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


def within_budget(name: str, dropins: Iterable[UnitFile], fragment: UnitFile | None,
                  ) -> list[UnitFile]:
    """A unit's drop-ins in the order systemd applies them, up to the include budget of one
    configuration (:mod:`oomaudit.includes`: a unit with its drop-ins is one, as a main file
    with its includes is): the first past it is a CONF002 naming the cap (on itself, or on
    the fragment when it is a mask), and neither it nor a later one is read."""
    budget = IncludeBudget()
    kept = []
    for unit_file in dropins:
        if budget.admit(len(unit_file.source.text) if unit_file.source is not None else 0):
            where = unit_file.source or (fragment.source if fragment is not None else None)
            if where is not None:
                where.problem("CONF002", None, f"drop-ins of {name}: {budget.spent}",
                              fix="fewer drop-in files for this unit, or larger ones merged",
                              key=f"{name} drop-ins")
            break
        kept.append(unit_file)
    return kept


def add_instance(units: dict[str, Unit], name: str) -> None:
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
