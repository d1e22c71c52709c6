"""KLOG001-002: OOM kills the kernel logged, tied to the service, unit and config behind
them. KLOG001 for every process killed, KLOG002 for kills by a memory cgroup's own limit.

Rules do not see each other's findings, so the link to "what explains it" goes
through what every plugin shares: the memory ledger. A victim's process name is mapped
to a service, and the ledger consumers of that service (with the config line they were
computed from, and the plugin whose rules audit it) become KLOG001's evidence. KLOG002
quotes the unit's MemoryMax from the systemd plugin's merged units when it has them.
"""
from __future__ import annotations

from oomaudit.plugins.systemd.constants import CACHE as SYSTEMD_UNITS

from oomaudit import Evidence, Finding
from oomaudit.host import FILES, ROOT
from oomaudit.parsers.kernlog_event import OomEvent
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .events import events_of, span
from .kills import Victim, unit_of

# victim comm -> the service name plugins use in the ledger
_SERVICES = (
    ("mysql", ("mysqld", "mariadbd", "mariadb")),
    ("postgresql", ("postgres", "postmaster")),
    ("php-fpm", ("php-fpm",)),
    ("apache", ("apache2", "httpd")),
    ("nginx", ("nginx",)),
    ("redis", ("redis-server",)),
)


def service_of(process: str) -> str:
    for service, names in _SERVICES:
        if any(process.startswith(n) for n in names):
            return service
    return process


def _location(host, event: OomEvent) -> tuple[str | None, int | None]:
    """Files (repo, --root) locate a kill by file:line; live sources by the host."""
    if host.mode in (FILES, ROOT) and event.line:
        return event.source, event.line
    return None, None


def _when(event: OomEvent) -> str:
    if event.time:
        return event.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return f"{event.timestamp} (time unknown)" if event.timestamp is not None else "undated"


def _kill_evidence(event: OomEvent) -> Evidence:
    sizes = ", ".join(f"{k} {format_size(v * 1024)}" for k, v in (
        ("anon-rss", event.anon_rss_kb), ("file-rss", event.file_rss_kb),
        ("shmem-rss", event.shmem_rss_kb)) if v is not None)
    trigger = f"; invoked by {event.invoked_by}" if event.invoked_by else ""
    if event.via == "sysrq":
        trigger += " (a manual SysRq-f kill, order=-1)"
    where = f"{event.source}:{event.line}" if event.line else event.source
    return Evidence(f"{_when(event)}: killed pid {event.pid} {event.process or '?'}"
                    + (f" ({sizes})" if sizes else "") + trigger, where)


def _unit_for(host, process: str, victim: Victim) -> str | None:
    if victim.unit:
        return victim.unit
    if host.live:
        from oomaudit.processes import processes
        for proc in processes(host):
            if proc.name == process and proc.unit:
                return proc.unit
    return None


def check_klog001(host):
    for process, victim in events_of(host).victims.items():
        service = service_of(process)
        last = victim.last
        unit = _unit_for(host, process, victim)
        evidence = [_kill_evidence(e) for e in victim.recent]
        if victim.count > len(victim.recent):
            evidence.insert(0, Evidence(f"{victim.count - len(victim.recent)} earlier kill(s) "
                                        "not listed"))
        if unit:
            evidence.append(Evidence(f"runs in {unit}", f"cgroup {last.memcg}" if last.memcg
                                     else "live: /proc/PID/cgroup"))
        consumers = [c for c in host.ledger.consumers
                     if service in c.service.lower() or process in c.service.lower()]
        explained = ""
        for c in consumers:
            evidence.append(Evidence(f"memory ledger: {c.service} may use {format_size(c.bytes)}"
                                     f" = {c.how}", c.source))
        families = sorted({c.plugin.upper() for c in consumers if c.plugin})
        if families:
            explained = f"; see the {', '.join(families)} findings for its configuration"
        ram = host.fact("ram")
        if ram and consumers:
            evidence.append(Evidence(f"RAM {format_size(ram.value)}", ram.source))
        path, line = _location(host, last)
        times = "once" if victim.count == 1 else f"{victim.count}x"
        yield Finding(
            "KLOG001",
            f"{process} killed by the OOM killer {times} {span(host)}, last "
            f"{_when(last)}" + (f" ({unit})" if unit else "") + explained,
            path, line, evidence,
            _fix001(service, unit, last.memcg, consumers), key=process)


_CONTAINERS = ("docker", "kubepods", "lxc", "libpod", "containerd", "cri-")


def _protect(service: str, unit: str | None, cgroup: str | None) -> str:
    """How to make the kernel spare the service next time, for where it runs."""
    if unit and unit.endswith(".service"):
        return snippet("systemctl edit {unit:sh} -> [Service] OOMScoreAdjust=-900", unit=unit)
    if any(k in (cgroup or "") for k in _CONTAINERS):
        return ("give its container a memory limit that fits it and a lower OOM score "
                "(docker run --oom-score-adj, Kubernetes Guaranteed QoS)")
    return snippet("OOMScoreAdjust=-900 on the systemd unit that starts {service}",
                   service=service)


def _fix001(service: str, unit: str | None, cgroup: str | None, consumers) -> str:
    protect = _protect(service, unit, cgroup)
    if consumers:
        return snippet("shrink {service}'s configured worst case (see the ledger evidence and "
                       "'oomaudit budget') until every service fits in RAM, then protect it: "
                       "{protect}", service=service, protect=protect)
    return snippet("find what grew (`oomaudit logs` lists the largest processes of each "
                   "report), cap it with MemoryMax= or shrink its config, and protect "
                   "{service}: {protect}", service=service, protect=protect)


def _unit_limit(host, unit: str | None):
    units = host.cache.get(SYSTEMD_UNITS)
    if units is None or not unit or not unit.endswith(".service"):
        return None
    for found in units.find(unit):
        setting = found.memory("MemoryMax") or found.memory("MemoryLimit")
        if setting:
            return setting
    return None


def check_klog002(host):
    for (cgroup, _), (event, count) in events_of(host).cgroups.items():
        limit = (f"limit {format_size(event.memcg_limit_kb * 1024)}"
                 if event.memcg_limit_kb is not None else "limit not printed")
        evidence = [_kill_evidence(event),
                    Evidence(f"cgroup {cgroup or '?'}: {limit}"
                             + (f", usage {format_size(event.memcg_usage_kb * 1024)}, "
                                f"failcnt {event.memcg_failcnt}"
                                if event.memcg_usage_kb is not None else ""),
                             f"{event.source}:{event.line}" if event.line else event.source)]
        if event.memcg and event.memcg != cgroup:
            evidence.append(Evidence(f"victim's own cgroup {event.memcg}"))
        unit = unit_of(cgroup) or unit_of(event.memcg)
        setting = _unit_limit(host, unit)
        if setting:
            evidence.append(Evidence(f"{setting.assignment.key}={setting.assignment.value}",
                                     setting.where))
        path, line = _location(host, event)
        times = "" if count == 1 else f" {count}x"
        yield Finding(
            "KLOG002",
            f"{event.process or 'a process'} killed{times} by a memory-cgroup OOM: "
            f"{cgroup or 'its cgroup'} hit its {limit}",
            path, line, evidence, _fix002(cgroup, unit, setting, event),
            key=f"{cgroup or '?'}: {event.process or '?'}")


def _fix002(cgroup: str | None, unit: str | None, setting, event: OomEvent) -> str:
    path = cgroup or ""
    if setting is not None:
        now = format_size((event.memcg_limit_kb or 0) * 1024)
        return snippet("raise {key} at {where} above the service's working set, or shrink "
                       "the service's memory settings: systemctl edit {unit:sh} -> [Service] "
                       f"MemoryMax=<more than {now}>", key=setting.assignment.key,
                       where=setting.where, unit=unit)
    if unit and unit.endswith(".service"):
        return snippet("the limit is the unit's MemoryMax=/MemoryHigh= (or its slice's): "
                       "systemctl edit {unit:sh} -> [Service] MemoryMax=<more>, or shrink the "
                       "service's memory settings so it fits", unit=unit)
    if any(k in path for k in _CONTAINERS):
        return ("the limit is the container's: raise it (docker run --memory, compose "
                "mem_limit / deploy.resources.limits.memory, Kubernetes "
                "resources.limits.memory, lxc.cgroup2.memory.max) or make the application "
                "fit inside it (heap, worker count, buffers)")
    return snippet("raise memory.max of {cgroup} (or the unit or container that owns it), or "
                   "make the service fit inside it", cgroup=path or "the cgroup")
