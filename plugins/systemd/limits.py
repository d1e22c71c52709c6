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
from .services import services_of
from .units import units_of

# What systemd does once the kernel OOM-kills a process of the unit (systemd.service(5)
# OOMPolicy=; the default is DefaultOOMPolicy= of systemd-system.conf, "stop").
_POLICIES = {
    "stop": "systemd then stops the whole unit (its other processes are ended cleanly)",
    "continue": "systemd leaves the unit running without the killed process",
    "kill": "systemd sets memory.oom.group=1: the kernel kills every process of the unit "
            "at once",
}


def _limited(host):
    """(unit, (key, setting, bytes), (service, why, worst, consumers)) for each service unit
    with a memory limit (``_limit``) that runs a service of the ledger (``_worst``)."""
    ram = host.fact("ram")
    ram = ram.value if ram else None
    for unit in units_of(host).loaded():
        if unit.kind != "service" or unit.is_template:
            continue
        limit = _limit(unit, ram)
        found = _worst(host, unit) if limit is not None else None
        if found is not None:
            yield unit, limit, found


def check_systemd007(host):
    for unit, (key, setting, nbytes), (service, why, worst, consumers) in _limited(host):
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


def caps(host):
    """(consumer, bytes, why) for each service a unit's hard limit caps (MemoryMax=, cgroup
    v1's MemoryLimit=): the kernel keeps the unit within it, so the host gives that service
    at most the limit, whatever its settings reserve (SYSTEMD007 judges those against the
    limit). Only a consumer the unit surely runs: the one of its service, or its own by
    file; MemoryHigh= throttles but caps nothing."""
    for unit, (key, setting, nbytes), (_, _, _, consumers) in _limited(host):
        if key != "MemoryHigh" and len(consumers) == 1:
            a = setting.assignment
            yield consumers[0], nbytes, (f"{key}={a.value} of {unit.name} "
                                         f"({setting.file.display}:{a.line})")


def _limit(unit, ram):
    """(key, setting, bytes) of the limit that kills (MemoryMax, else the v1 MemoryLimit),
    else MemoryHigh; None when none is set or a percentage cannot be resolved."""
    for key in ("MemoryMax", "MemoryLimit", "MemoryHigh"):
        setting = unit.memory(key)
        if setting is not None:
            nbytes = setting.value.resolve(ram)
            return None if nbytes is None else (key, setting, nbytes)
    return None


class _LedgerIndex:
    """The ledger's consumers looked up by what a unit names, built once per rule run: a
    host with a unit per service would otherwise scan the whole ledger for every unit.
    Each lookup gives ledger positions, so that what it finds keeps the ledger's order."""

    def __init__(self, consumers):
        self.consumers = consumers
        self.size = len(consumers)  # the ledger is filled before the rules run; if not, anew
        self.services: dict[str, list[int]] = {}  # "postgresql" and "postgresql 15/main"
        self.files: dict[str, list[int]] = {}  # source's text before each ":" (path:line)
        self.tails: dict[str, list[int]] = {}  # "/"-suffixes of "/path": what ends with it
        self.heads: dict[str, list[int]] = {}  # how's text before each ":"
        for n, c in enumerate(consumers):
            words = c.service.split(" ")
            for end in range(1, len(words) + 1):
                self.services.setdefault(" ".join(words[:end]), []).append(n)
            for at in (i for i, ch in enumerate(c.source) if ch == ":"):
                self.files.setdefault(c.source[:at], []).append(n)
            slashed = "/" + c.source.rpartition(":")[0]
            for at in (i for i, ch in enumerate(slashed) if ch == "/"):
                self.tails.setdefault(slashed[at:], []).append(n)
            for at in (i for i, ch in enumerate(c.how) if ch == ":"):
                self.heads.setdefault(c.how[:at], []).append(n)

    def of(self, service: str) -> set[int]:
        """The consumers that belong to the service (``belongs``)."""
        return set(self.services.get(service, ()))

    def own(self, files, named, names) -> set[int]:
        """Consumers whose source is in one of ``files``, whose file ends with a path of
        ``named``, or whose arithmetic starts with one of ``names`` and a colon."""
        found: set[int] = set()
        for table, keys in ((self.files, files), (self.tails, named), (self.heads, names)):
            for key in keys:
                found.update(table.get(key, ()))
        return found


def _index(host) -> _LedgerIndex:
    index = host.cache.get("systemd.ledger-index")
    consumers = host.ledger.consumers
    if index is None or index.consumers is not consumers or index.size != len(consumers):
        index = host.cache["systemd.ledger-index"] = _LedgerIndex(consumers)
    return index


def _worst(host, unit):
    """(service, why, worst bytes, its consumers) for the first service the unit runs
    that the ledger holds. A consumer that names the unit or one of its files (a JVM
    started by its ExecStart), or whose file ExecStart names (``redis-server
    /etc/redis/redis.conf``, ``mysqld --defaults-file=/etc/mysql/db2.cnf``), is the unit's
    own; a ``postgresql@15-main`` instance is its own cluster (``postgresql 15/main``) when
    the ledger names it; otherwise the smallest."""
    index = _index(host)
    files = [f.display for f in unit.files()]
    named = [p for _, a in unit.values("ExecStart") for w in a.value.split()
             for p in (w.partition("=")[2] if w.startswith("-") else w,)  # --defaults-file=
             if p.startswith("/") and not p.endswith("/")]
    own_anywhere = index.own(files, named, unit.names)
    for service, why in services_of(unit):
        belonging = index.of(service)
        if not belonging:
            continue
        chosen = (belonging & own_anywhere) or belonging
        consumers = [index.consumers[n] for n in sorted(chosen)]
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
