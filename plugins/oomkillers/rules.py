"""USERKILL001-006: what earlyoom, configured as it is, may kill and when, two userspace
OOM killers enabled on one host, a critical unit systemd-oomd may kill, and a critical
service nohang's badness rules push forward.

earlyoom picks the process with the highest oom_score, plus 300 for a name its --prefer
regex matches and minus 300 for one --avoid matches; a name --ignore matches is never
picked (v1.8). It acts when available memory is below its -m/-M minimum *and* free swap
below its -s/-S minimum (a host without swap counts as 0% free).
"""
from __future__ import annotations

import re
import shlex

from oomaudit import Evidence, Finding
from oomaudit.host import FILES
from oomaudit.units import format_size

from .constants import EARLYOOM, KILLER_UNITS, NOHANG, VARIABLE
from .critical import critical_processes
from .earlyoom import Earlyoom, compiled


def compiled_py(regex: str) -> re.Pattern:
    """nohang is Python: its regexes are re's (nohang refuses a file where one fails)."""
    return re.compile(regex)


def _running(host) -> list[Earlyoom]:
    return [config for config in host.documents(EARLYOOM) if config.starts]


def _matches(regex: str | None, name: str) -> bool:
    return regex is not None and compiled(regex).search(name) is not None


def _args_line(config: Earlyoom, args: list[str]) -> str:
    """The EARLYOOM_ARGS line with ``args``, each word quoted for systemd's split."""
    return f"{VARIABLE}=\"{' '.join(shlex.quote(a) for a in args)}\""


def _with(config: Earlyoom, flag: str, value: str, drop: tuple[str, ...] = ()) -> list[str]:
    """The arguments with ``flag value`` in place of every ``flag`` (and ``drop``) given as
    a word of its own followed by its value, or as ``--flag=value``."""
    args, out, skip = list(config.args), [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in (flag, *drop):
            skip = True
        elif not arg.startswith(tuple(f"{f}=" for f in (flag, *drop))):
            out.append(arg)
    return [*out, flag, value]


def _avoid_regex(config: Earlyoom, names: list[str]) -> str:
    own = "^(" + "|".join(sorted(set(names))) + ")$"
    return f"{config.avoid}|{own}" if config.avoid else own


def _named(pairs: list[tuple[str, str]]) -> str:
    """'ssh, sshd (sshd), postgresql@* (postgres)': the patterns of each process name."""
    by_name: dict[str, list[str]] = {}
    for pattern, name in pairs:
        by_name.setdefault(name, []).append(pattern)
    return ", ".join(f"{', '.join(patterns)} ({name})" for name, patterns in by_name.items())


def _setting(config: Earlyoom, flag: str, regex: str | None) -> Evidence:
    if regex is None:
        return Evidence(f"no {flag}", config.where)
    return Evidence(f"{flag} {regex!r}", config.where)


# --- USERKILL001 ------------------------------------------------------------------------

def check_userkill001(host):
    for config in _running(host):
        if config.prefer is None:
            continue
        hits = [(pattern, name) for pattern, names in critical_processes(host.settings)
                for name in names
                if _matches(config.prefer, name) and not _matches(config.ignore, name)]
        if not hits:
            continue
        named = _named(hits)
        evidence = [Evidence(f"critical service pattern '{pattern}' runs as process '{name}'",
                             "settings: critical-services") for pattern, name in hits]
        evidence += [_setting(config, "--prefer", config.prefer),
                     _setting(config, "--avoid", config.avoid),
                     Evidence("earlyoom adds 300 to the badness of a --prefer match and takes "
                              "300 off an --avoid match: both cancel out")]
        names = [name for _, name in hits]
        yield Finding(
            "USERKILL001",
            f"earlyoom --prefer {config.prefer!r} matches critical services {named}: earlyoom "
            "kills them first when memory runs low",
            config.source.display, config.line, evidence,
            fix=f"in {config.source.display}, without --prefer (give it back a regex that "
                f"matches none of {', '.join(sorted(set(names)))}):\n"
                + _args_line(config, _with(config, "--avoid", _avoid_regex(config, names),
                                           ("--prefer",))),
            key="--prefer")


# --- USERKILL002 ------------------------------------------------------------------------

def check_userkill002(host):
    for config in _running(host):
        open_to = [(pattern, name) for pattern, names in critical_processes(host.settings)
                   for name in names
                   if not _matches(config.avoid, name) and not _matches(config.ignore, name)
                   and not _matches(config.prefer, name)]  # those are USERKILL001's
        if not open_to:
            continue
        named = _named(open_to)
        evidence = [Evidence(f"critical service pattern '{pattern}' runs as process '{name}'",
                             "settings: critical-services") for pattern, name in open_to]
        evidence += [_setting(config, "--avoid", config.avoid),
                     _setting(config, "--ignore", config.ignore)]
        names = [name for _, name in open_to]
        yield Finding(
            "USERKILL002",
            f"earlyoom may kill critical services {named}: no --avoid covers them",
            config.source.display, config.line, evidence,
            fix=f"in {config.source.display}:\n"
                + _args_line(config, _with(config, "--avoid", _avoid_regex(config, names))),
            key="--avoid")


# --- USERKILL003 ------------------------------------------------------------------------

def check_userkill003(host):
    configs = _running(host)
    if not configs or not host.ledger.consumers:
        return
    ram = host.require("ram")
    swap = host.fact("swap")
    swap_bytes = swap.value if swap else 0
    total = host.ledger.total()
    if total > ram.value + swap_bytes:
        return  # the kernel kills too: HOST002
    available = max(ram.value - total, 0)
    swap_free = swap_bytes - min(max(total - ram.value, 0), swap_bytes)
    for config in configs:
        mem_min = _bytes(config.memory, ram.value)
        swap_min = _bytes(config.swap, swap_bytes)
        if available > mem_min or (swap_bytes and swap_free > swap_min):
            continue
        evidence = [Evidence(f"{c.service}: {format_size(c.bytes)} = {c.how}", c.source)
                    for c in host.ledger.consumers]
        evidence += [Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                     Evidence(f"swap = {format_size(swap_bytes)}",
                              swap.source if swap else "swap not declared: taken as 0"),
                     Evidence(config.memory.shown("earlyoom SIGTERM/SIGKILL under available "
                                                  "memory") + f" = {format_size(mem_min)}",
                              config.where),
                     Evidence(config.swap.shown("and under free swap")
                              + f" = {format_size(swap_min)}", config.where)]
        room = int((available - 1) * 100 / ram.value) if ram.value else 0
        lower = (_args_line(config, _with(config, "-m", str(room), ("-M",))) + "\n# or "
                 if room >= 1 else "")
        yield Finding(
            "USERKILL003",
            f"earlyoom kills at {format_size(mem_min)} available, but the services' worst case "
            f"{format_size(total)} leaves only {format_size(available)} of "
            f"{format_size(ram.value)} RAM: it kills where the kernel would not need to",
            config.source.display, config.line, evidence,
            fix=f"in {config.source.display}:\n{lower}shrink the services (see 'oomaudit budget')",
            key="-m")


def _bytes(threshold, total: int) -> int:
    if threshold.flag in ("-M", "-S"):
        return int(threshold.term * 1024)
    return int(total * threshold.term / 100)


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
    off = " ".join(shlex.quote(n) for k in others for n in enabled[k])
    yield Finding(
        "USERKILL004",
        f"{len(enabled)} userspace OOM killers are enabled at once ({', '.join(enabled)}): "
        "each acts on its own thresholds and picks its own victim, so a service one spares "
        "the other kills",
        None, None, evidence,
        fix=f"keep one ({keep} here) and disable the others:\nsystemctl disable --now {off}",
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


# --- USERKILL006 ------------------------------------------------------------------------

def check_userkill006(host):
    for config in host.documents(NOHANG):
        if not config.starts:
            continue
        by_name: dict[str, list[str]] = {}
        for pattern, names in critical_processes(host.settings):
            for name in names:
                by_name.setdefault(name, []).append(pattern)
        for name, patterns in by_name.items():
            matching = [b for b in config.badness if compiled_py(b.regex).search(name)]
            total = sum(b.adj for b in matching)
            if total <= 0:
                continue
            pattern = ", ".join(patterns)
            evidence = [Evidence(f"critical service pattern '{p}' runs as process "
                                 f"'{name}'", "settings: critical-services")
                        for p in patterns]
            evidence += [Evidence(f"@BADNESS_ADJ_RE_NAME {b.adj} /// {b.regex}",
                                  f"{config.source.display}:{b.line}") for b in matching]
            first = next(b for b in matching if b.adj > 0)
            yield Finding(
                "USERKILL006",
                f"nohang adds {total} to the badness of critical service {pattern} "
                f"({name}): it is among the first nohang kills",
                config.source.display, first.line, evidence,
                fix=f"take {name} out of the positive @BADNESS_ADJ_RE_NAME regexes in "
                    f"{config.source.display}, or protect it:\n"
                    f"@BADNESS_ADJ_RE_NAME -{total + 300} /// ^{re.escape(name)}$",
                key=name)
