"""What systemd-oomd may kill: a unit is a candidate when it or a slice above it sets
``ManagedOOMSwap=kill`` or ``ManagedOOMMemoryPressure=kill`` (systemd-oomd then kills a
descendant cgroup of the one over its limit) and the unit itself does not set
``ManagedOOMPreference=avoid`` or ``omit``. Debian's and Fedora's systemd-oomd package sets
``ManagedOOMSwap=kill`` on ``-.slice``, the root of every unit.

The slices of a unit are systemd's: ``Slice=`` (a service's default ``system.slice``), then
each prefix of the slice's dashed name (``a-b.slice`` is in ``a.slice``), then ``-.slice``.
``-.slice`` and ``system.slice`` are built into systemd, with no unit file a tree could hold:
their drop-ins (``/usr/lib/systemd/system/-.slice.d/*.conf``) are read here, in systemd's
order (by file name; a name in an earlier folder of the search path hides it in later ones).
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.systemd.constants import READER, SEARCH_PATH
from oomaudit.plugins.systemd.units import parse_source

from oomaudit.parsers.systemd import TYPE_SECTIONS
from oomaudit.parsers.systemd_units import Unit, UnitSet, within_budget

MANAGED = ("ManagedOOMSwap", "ManagedOOMMemoryPressure")
PROTECTED = ("avoid", "omit")


class Managed(NamedTuple):
    cgroup: str  # the unit or slice that sets it
    key: str
    where: str  # file:line
    limit: tuple[str, str] | None = None  # its own ManagedOOMMemoryPressureLimit=, where


def value(unit: Unit | None, key: str) -> tuple[str, str] | None:
    """The last assignment of ``key`` in the unit's own section (an empty one resets it):
    (value, file:line), or None."""
    if unit is None:
        return None
    section = TYPE_SECTIONS.get(unit.kind, "Service")
    found = None
    for unit_file, a in unit.assignments():
        if a.key == key and a.section == section:
            found = (a.value, f"{unit_file.display}:{a.line}") if a.value else None
    return found


def slices(units: UnitSet, unit: Unit) -> list[str]:
    """The slices ``unit`` runs in, innermost first, ending with ``-.slice``."""
    if unit.kind == "slice":
        own = unit.name
    else:
        setting = value(unit, "Slice")
        own = setting[0] if setting else "system.slice"
    stem = own.removesuffix(".slice")
    chain = [] if unit.name == own else [own]
    parts = stem.split("-") if stem not in ("", "-") else []
    chain += [f"{'-'.join(parts[:n])}.slice" for n in range(len(parts) - 1, 0, -1)]
    return [*chain, "-.slice"] if own != "-.slice" else chain


def builtin_slice(host, name: str) -> Unit | None:
    """A slice no unit file defines, with the drop-ins of its ``NAME.d`` folders."""
    chosen: dict[str, object] = {}
    for folder in SEARCH_PATH:
        real = host.resolve(f"{folder}/{name}.d")
        if real is None or not host.fs.is_dir(real):
            continue
        for conf in host.fs.glob(real / "*.conf"):
            chosen.setdefault(conf.name, conf)

    def read():
        for conf_name in sorted(chosen):
            conf = chosen[conf_name]
            if host.fs.readlink(conf) == "/dev/null":
                continue  # masked: it hides the same name in later folders, and sets nothing
            source = host.read(conf, READER)
            if source is not None:
                yield parse_source(source)
    dropins = within_budget(name, read(), None)  # one configuration's include budget
    return Unit(name, None, dropins) if dropins else None


def managed_kill(host, units: UnitSet, unit: Unit) -> list[Managed]:
    """Where systemd-oomd is told to kill in the cgroups holding ``unit`` (itself included)."""
    found = []
    for name in [unit.name, *slices(units, unit)]:
        holder = unit if name == unit.name else (units.units.get(name)
                                                 or builtin_slice(host, name))
        for key in MANAGED:
            setting = value(holder, key)
            if setting and setting[0] == "kill":
                limit = value(holder, "ManagedOOMMemoryPressureLimit") \
                    if key == "ManagedOOMMemoryPressure" else None
                found.append(Managed(name, key, setting[1], limit))
    return found
