"""The host's systemd units, merged once and kept in ``host.cache`` for every rule and
plugin, and what systemd would say about them: CONF001 on a line it rejects or ignores,
CONF003 for a unit folder that could not be listed.

A live host or a ``--root`` tree is read from its search path
(:mod:`oomaudit.parsers.systemd_tree`), with the instances no folder names; a config
repository from the unit files it was given (:mod:`oomaudit.parsers.systemd_repo`).
"""
from __future__ import annotations

import os
from pathlib import Path

from oomaudit.host import FILES, LIVE
from oomaudit.parsers.systemd import AUDITED_KEYS, TYPE_SECTIONS, UnitText, parse_unit
from oomaudit.parsers.systemd_names import SEARCH_PATH, logical_path, owner_of, unit_type
from oomaudit.parsers.systemd_repo import from_files, tree_root
from oomaudit.parsers.systemd_tree import from_tree
from oomaudit.parsers.systemd_units import UnitFile, UnitSet, file_issues
from oomaudit.procfs import read_live
from oomaudit.reading import Source
from oomaudit.snippets import snippet

from .constants import CACHE, PLUGIN, READER


def parse_source(source: Source) -> UnitFile:
    """A unit file or drop-in, read as the unit type its path names (``x.service``,
    ``x.service.d/y.conf``, flattened ``...__x.service.d__y.conf``)."""
    owner = owner_of(logical_path(source.inside or source.display))
    kind = unit_type(owner) or (owner if owner in TYPE_SECTIONS else None)
    return UnitFile(source.display, source.inside or source.display,
                    parse_unit(source.text, kind), kind, source)


def collect(host):
    comm = read_proc("/proc/1/comm")
    if comm is not None and comm != "systemd":
        host.note_unreadable(
            "live: systemd units", f"PID 1 is '{comm}', not systemd: unit files were read from "
            "disk as systemd would load them at boot, but no process runs under a unit, so "
            "live oom_score_adj could not be compared with the units (SYSTEMD004)")


def read_proc(path: str) -> str | None:
    """A /proc file's content, stripped; None when it cannot be read."""
    try:
        return read_live(path).strip()
    except OSError:
        return None


def budget(host):
    units = units_of(host)
    for unit_file in units.all_files():
        _report_problems(unit_file, units)
    for what, why in units.problems:
        host.note_unreadable(what, why)


def units_of(host) -> UnitSet:
    """The host's merged units, built once per host and cached."""
    if CACHE in host.cache:
        return host.cache[CACHE]
    parsed = {doc.source.path: doc for doc in host.documents(PLUGIN)
              if getattr(doc, "source", None) is not None}
    if host.mode == FILES:
        aliases = _aliases(host, parsed)
        units = from_files([(doc.display, doc) for path, doc in parsed.items()
                            if path not in aliases] + _masks(host, parsed))
        for path, (root, target) in aliases.items():
            unit = units.units.get(f"{root}/{target}") or units.units[target]
            unit.aliases.append(path.name)
    else:
        def read(real: Path, inside: str) -> UnitFile | None:
            if real not in parsed:
                source = host.read(real, READER)
                if source is None:
                    return None
                parsed[real] = parse_source(source)
            return parsed[real]
        units = from_tree(host.fs, read, _known_instances(host))
    host.cache[CACHE] = units
    return units


def _aliases(host, parsed: dict) -> dict[Path, tuple[str, str]]:
    """A repository's unit files that link to another unit of the same type it holds
    (Debian's mysql.service -> mariadb.service): aliases of that unit, as systemd reads
    them, not units of their own; each with its tree and the unit it names."""
    held = {(tree_root(str(path)), path.name) for path in parsed}
    found = {}
    for path in parsed:
        target = os.path.basename((host.fs.readlink(path) or "").rstrip("/"))
        root = tree_root(str(path))
        if target not in ("", path.name) and unit_type(target) == unit_type(path.name) \
                and (root, target) in held:
            found[path] = (root, target)
    return found


def _masks(host, parsed: dict) -> list[tuple[str, UnitFile]]:
    """A repository's masked units: the links to /dev/null in the unit folders of the
    trees its unit files lie in (discovery reads nothing through them), each a masked file
    for the merge, so that a unit masked in etc/systemd/system loads nothing it holds."""
    found = []
    for root in sorted({tree_root(str(path)) for path in parsed}):
        for folder in SEARCH_PATH:
            real = Path(root or ".", folder.lstrip("/"))  # relative: the working directory's
            try:
                names = host.fs.listdir(real)
            except OSError:  # the tree has no such folder
                continue
            for name in names:
                path = real / name
                if unit_type(name) and host.fs.readlink(path) == "/dev/null":
                    shown = host.display(path)
                    found.append((shown, UnitFile(shown, f"{folder}/{name}", UnitText(),
                                                  unit_type(name), masked=True)))
    return found


def _known_instances(host) -> tuple[str, ...]:
    """Instances no unit directory names: Debian's postgresql-generator makes
    ``postgresql@V-C.service`` for each /etc/postgresql/V/C at boot; live, every unit a
    process runs in."""
    names = set()
    folder = host.resolve("/etc/postgresql")
    if folder is not None:
        names.update(f"postgresql@{conf.parent.parent.name}-{conf.parent.name}.service"
                     for conf in host.fs.glob(folder / "*/*/postgresql.conf"))
    if host.mode == LIVE:
        from oomaudit.processes import processes
        names.update(p.unit for p in processes(host) if p.unit)
    return tuple(sorted(names))


def _report_problems(unit_file: UnitFile, units: UnitSet) -> None:
    """Syntax the unit reader met becomes CONF001 on the file (once per file)."""
    source = unit_file.source
    if source is None:
        return
    for line, message in unit_file.text.problems:  # no directive: the line is the key
        source.problem("CONF001", line, f"systemd: {message}",
                       key=source.line_text(line))
    if unit_file.text.fatal:
        line, message = unit_file.text.fatal
        names = ", ".join(u.name for u in units.units.values() if unit_file in u.files())
        source.problem("CONF001", line, f"systemd: {message}: systemd stops reading here and "
                       f"refuses to load {names or 'the unit'} (load state 'error')",
                       fix="close the section header with ']' and use only letters, digits "
                           "and dashes in it", key=source.line_text(line))
    for issue in file_issues(unit_file):
        if issue.message.startswith(("Unknown key", "Invalid memory limit", "Memory limit")):
            source.problem("CONF001", issue.assignment.line, f"systemd: {issue.message}",
                           fix=_value_fix(issue, unit_file), key=issue.assignment.key)


def _value_fix(issue, unit_file: UnitFile) -> str:
    a = issue.assignment
    if issue.message.startswith("Unknown key"):
        right = next(k for k in AUDITED_KEYS if k.lower() == a.key.lower())
        section = TYPE_SECTIONS.get(unit_file.kind or "service", "Service")
        return snippet(f"{right}={{value}} under [{section}] (keys are case-sensitive)",
                       value=a.value)
    if "$" in a.value:
        return snippet("write the size itself ({key}=4G): systemd expands $VARIABLES only in "
                       "Exec*= command lines", key=a.key)
    return snippet("{key}= takes bytes with an upper-case K, M, G, T suffix (1024-based), a "
                   "percentage of RAM or 'infinity', and nothing else on the line", key=a.key)

