"""A config repository's units: its unit files and drop-ins merged as the layout says.

A repository has no search path, so :func:`from_files` merges what the paths say
(``etc/systemd/system/x.service.d/y.conf``, or flattened names such as
``etc__systemd__system__x.service.d__y.conf``, read by
:func:`~oomaudit.parsers.systemd_names.logical_path`): of two files for one name, the one
whose folder comes first on systemd's search path wins. Drop-ins of absent units are
kept as partial units, so their settings are still audited.
"""
from __future__ import annotations

from .systemd import UNIT_TYPES
from .systemd_names import DROPIN, SEARCH_PATH, dropin_owners, logical_path, owner_of, unit_type
from .systemd_units import Unit, UnitFile, UnitSet, add_instance, within_budget


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
    m = DROPIN.search(path)
    folder = path[:m.start()] if m else path.rpartition("/")[0]
    return folder.lstrip("/")


def from_files(files: list[tuple[str, UnitFile]]) -> UnitSet:
    """Units of a config repository from ``(relative path, parsed file)`` pairs. Files merge
    only with files of the same tree (:func:`tree_root`): two repositories' ``mysql.service``
    in one folder are two units. A ``masked`` file (a link to /dev/null) masks its name as
    on a host: a unit so masked loads nothing, a drop-in hides its name in later folders."""
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
        if DROPIN.search(path) or not unit_type(owner):
            dropins.append((owner, _priority(path), unit_file))
            continue
        best = fragments.get(owner)
        if best is None or _priority(path) < best[0]:
            fragments[owner] = (_priority(path), unit_file)
    units = {name: Unit(name, None if unit_file.masked else unit_file, masked=unit_file.masked)
             for name, (_prio, unit_file) in fragments.items()}
    for name in list(units):
        add_instance(units, name)
    for owner, _prio, _file in dropins:
        if unit_type(owner) and not owner.endswith("-." + str(unit_type(owner))):
            add_instance(units, owner)
            units.setdefault(owner, Unit(owner, None))
    for unit in units.values():
        owners = set(dropin_owners(unit.name))
        chosen: dict[str, tuple[int, UnitFile]] = {}
        for owner, prio, unit_file in dropins:
            if owner in owners and (unit_file.basename not in chosen
                                    or prio < chosen[unit_file.basename][0]):
                chosen[unit_file.basename] = (prio, unit_file)
        unit.dropins = within_budget(unit.name, (chosen[b][1] for b in sorted(chosen)),
                                     unit.fragment)
    for owner, _prio, unit_file in dropins:  # a snippet whose unit the path does not name
        if not unit_type(owner) and owner not in UNIT_TYPES:
            units[unit_file.display] = Unit(unit_file.display, None, [unit_file])
    return units
