"""SYSTEMD007: a unit's memory limit below the worst case the memory ledger has for the
service it runs (what CONTAINER003 is for a container). The kernel enforces MemoryMax=
(and cgroup v1's MemoryLimit=) inside the unit's cgroup: once the service fills what its
own settings reserve, the OOM killer picks a process of the unit even though the host has
memory to spare. MemoryHigh= does not kill but throttles and reclaims the unit at that
line, so it is judged only when no hard limit is set, one severity lower.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.units import format_size

from .dropins import dropin_fix
from .services import belongs, services_of
from .units import units_of

# What systemd does once the kernel OOM-kills a process of the unit (systemd.service(5)
# OOMPolicy=; the default is DefaultOOMPolicy= of systemd-system.conf, "stop").
_POLICIES = {
    "stop": "systemd then stops the whole unit (its other processes are ended cleanly)",
    "continue": "systemd leaves the unit running without the killed process",
    "kill": "systemd sets memory.oom.group=1: the kernel kills every process of the unit "
            "at once",
}


def check_systemd007(host):
    ram = host.fact("ram")
    ram = ram.value if ram else None
    for unit in units_of(host).loaded():
        if unit.kind != "service" or unit.is_template:
            continue
        limit = _limit(unit, ram)
        if limit is None:
            continue
        key, setting, nbytes = limit
        found = _worst(host, unit)
        if found is None:
            continue
        service, why, worst, consumers = found
        if worst <= nbytes:
            continue
        a = setting.assignment
        evidence = [
            Evidence(f"{key}={a.value} = {format_size(nbytes)}",
                     f"{setting.file.display}:{a.line}"),
            Evidence(f"runs {service}: {why}"),
            *(Evidence(f"{c.service} worst case {format_size(c.bytes)}: {c.how}", c.source)
              for c in consumers),
            _policy(unit),
        ]
        if len(consumers) > 1:
            evidence.append(Evidence(f"which of the {len(consumers)} {service} consumers in "
                                     "the ledger the unit runs is not known: the smallest is "
                                     "compared"))
        if key == "MemoryHigh":
            message = (f"{unit.name}: {key}={a.value} ({format_size(nbytes)}) is below the "
                       f"worst case of the {service} it runs ({format_size(worst)}): the "
                       "kernel throttles and reclaims the unit hard long before the service "
                       "reaches what its settings reserve")
        else:
            message = (f"{unit.name}: {key}={a.value} ({format_size(nbytes)}) is below the "
                       f"worst case of the {service} it runs ({format_size(worst)}): the "
                       "kernel OOM-kills inside the unit as the service fills it, with "
                       "memory to spare on the host")
        top = _mib(worst * 5 // 4)
        raise_it = dropin_fix(unit, key, f"{'MemoryMax' if key == 'MemoryLimit' else key}="
                              f"{top}", name="memory.conf")
        yield Finding(
            "SYSTEMD007", message, setting.file.display, a.line, evidence,
            fix=f"either raise the limit above the worst case (+25%):\n{raise_it}\n"
                f"or lower the {service} settings the ledger sums (above) until their worst "
                f"case fits in {format_size(nbytes)}",
            severity=Severity.MEDIUM if key == "MemoryHigh" else None,
            key=f"{unit.name}: {key}")


def _limit(unit, ram):
    """(key, setting, bytes) of the limit that kills (MemoryMax, else the v1 MemoryLimit),
    else MemoryHigh; None when none is set or a percentage cannot be resolved."""
    for key in ("MemoryMax", "MemoryLimit", "MemoryHigh"):
        setting = unit.memory(key)
        if setting is not None:
            nbytes = setting.value.resolve(ram)
            return None if nbytes is None else (key, setting, nbytes)
    return None


def _worst(host, unit):
    """(service, why, worst bytes, its consumers) for the first service the unit runs
    that the ledger holds. A consumer that names the unit or one of its files (a JVM
    started by its ExecStart), or whose file ExecStart names (``redis-server
    /etc/redis/redis.conf``), is the unit's own; a ``postgresql@15-main`` instance is its
    own cluster (``postgresql 15/main``) when the ledger names it; otherwise the smallest."""
    files = tuple(f"{f.display}:" for f in unit.files())
    named = tuple(w for _, a in unit.values("ExecStart") for w in a.value.split()
                  if w.startswith("/") and not w.endswith("/"))
    for service, why in services_of(unit):
        consumers = [c for c in host.ledger.consumers if belongs(c.service, service)]
        if not consumers:
            continue
        own = [c for c in consumers if c.source.startswith(files) or
               ("/" + c.source.rpartition(":")[0]).endswith(named) or
               any(c.how.startswith(f"{name}:") for name in unit.names)]
        consumers = own or consumers
        instance = unit.name.partition("@")[2].rsplit(".", 1)[0]
        if instance:
            cluster = [c for c in consumers if c.service.endswith(" " + instance.replace(
                "-", "/", 1))]
            consumers = cluster or consumers
        # which of several the unit runs is unknown: the smallest, so a finding holds for any
        smallest = min(consumers, key=lambda c: c.bytes)
        return service, why, smallest.bytes, consumers
    return None


def _policy(unit) -> Evidence:
    set_to = unit.values("OOMPolicy")
    if set_to:
        unit_file, a = set_to[-1]
        policy, where = a.value.strip(), f"{unit_file.display}:{a.line}"
    else:
        policy, where = "stop", ""
    said = _POLICIES.get(policy, "systemd ignores this value and uses DefaultOOMPolicy=")
    shown = f"OOMPolicy={policy}" + ("" if set_to else " (the default)")
    return Evidence(f"{shown}: when the kernel kills a process of the unit, {said}", where)


def _mib(nbytes: int) -> str:
    return f"{-(-nbytes // (1 << 20))}M"
