"""USERKILL004-005, read from the host's systemd units: two userspace OOM killers enabled
at once, and a critical unit systemd-oomd, enabled, may kill.

A repository's unit files carry no ``.wants/`` links, so nothing there says what is
enabled: both rules look at a host or a ``--root`` tree only.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.host import FILES
from oomaudit.snippets import snippet

from .constants import KILLER_UNITS

# --- USERKILL004 ------------------------------------------------------------------------

def check_userkill004(host):
    if host.mode == FILES:
        return  # a repository's unit files carry no .wants/ links: nothing says what is enabled
    from oomaudit.plugins.systemd.units import units_of

    units = units_of(host)
    enabled: dict[str, list[str]] = {}
    for name, killer in KILLER_UNITS.items():
        unit = units.units.get(name)
        if name in units.enabled and unit is not None and not unit.masked:
            enabled.setdefault(killer, []).append(name)
    if len(enabled) < 2:
        return
    evidence = [Evidence(f"{name} enabled (linked from a .wants/ folder)",
                         units.units[name].fragment.display if units.units[name].fragment
                         else "systemd units")
                for names in enabled.values() for name in names]
    keep, *others = list(enabled)
    off = [n for k in others for n in enabled[k]]
    yield Finding(
        "USERKILL004",
        f"{len(enabled)} userspace OOM killers are enabled at once ({', '.join(enabled)}): "
        "each acts on its own thresholds and picks its own victim, so a service one spares "
        "the other kills",
        None, None, evidence,
        fix=snippet("keep one ({keep} here) and disable the others:\n"
                    "systemctl disable --now {off:sh}", keep=keep, off=off),
        key="+".join(sorted(enabled)))


# --- USERKILL005 ------------------------------------------------------------------------

def check_userkill005(host):
    if host.mode == FILES:
        return  # a repository's unit files carry no .wants/ links: oomd may not be enabled
    from oomaudit.plugins.systemd.dropins import dropin_fix
    from oomaudit.plugins.systemd.units import units_of

    from oomaudit.config import DEFAULT_CRITICAL

    from .oomd import PROTECTED, managed_kill, value

    units = units_of(host)
    oomd = [n for n, k in KILLER_UNITS.items() if k == "systemd-oomd" and n in units.enabled
            and n in units.units and not units.units[n].masked]
    if not oomd:
        return
    seen = set()
    for pattern in getattr(host.settings, "critical_services", None) or DEFAULT_CRITICAL:
        for unit in units.find(pattern):
            if unit.name in seen or not unit.loads:
                continue
            seen.add(unit.name)
            preference = value(unit, "ManagedOOMPreference")
            if preference and preference[0] in PROTECTED:
                continue
            managed = managed_kill(host, units, unit)
            if not managed:
                continue
            evidence = [Evidence(f"critical service pattern '{pattern}'",
                                 "settings: critical-services"),
                        Evidence(f"{oomd[0]} enabled (linked from a .wants/ folder)",
                                 units.units[oomd[0]].fragment.display
                                 if units.units[oomd[0]].fragment else "systemd units")]
            evidence += [Evidence(f"{m.key}=kill on {m.cgroup}", m.where) for m in managed]
            evidence += [Evidence(f"ManagedOOMMemoryPressureLimit={m.limit[0]} on {m.cgroup} "
                                  "(in place of DefaultMemoryPressureLimit)", m.limit[1])
                         for m in managed if m.limit]
            evidence += _oomd_limits(host, {m.key for m in managed})
            evidence.append(Evidence(f"ManagedOOMPreference={preference[0]}", preference[1])
                            if preference else Evidence("ManagedOOMPreference not set (none)"))
            where = ", ".join(f"{m.key}=kill on {m.cgroup}" for m in managed)
            yield Finding(
                "USERKILL005",
                f"systemd-oomd may kill critical service {unit.name}: {where}, and the unit "
                "does not set ManagedOOMPreference=avoid",
                unit.fragment.display, None, evidence,
                dropin_fix(unit, "ManagedOOMPreference", "ManagedOOMPreference=avoid"),
                key=unit.name)


def _oomd_limits(host, keys: set[str]) -> list[Evidence]:
    """When systemd-oomd acts, from oomd.conf and its drop-ins as systemd merges them."""
    from .oomdconf import settings

    merged = settings(host)
    wanted = (["SwapUsedLimit"] if "ManagedOOMSwap" in keys else []) + \
        (["DefaultMemoryPressureLimit", "DefaultMemoryPressureDurationSec"]
         if "ManagedOOMMemoryPressure" in keys else [])
    return [Evidence(f"{key}={merged[key][0]}", merged[key][1] or "oomd.conf(5) default")
            for key in wanted]
