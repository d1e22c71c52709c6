"""REDIS001-REDIS005: each Redis instance's memory against the host, and the two kernel
settings redis-server itself warns about.

The RAM left for an instance is RAM minus what every other consumer of the ledger claims
(other Redis instances included). A maxmemory the fixes propose is 80% of it, for the
overhead Redis keeps outside maxmemory (client buffers, the replication backlog, allocator
fragmentation: the administration guide's "if you think you have 10 GB free, set it to 8
or 9"), halved where the instance forks for persistence.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.ledger import Room
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import claimed, running
from .instances import Instance, instances
from .kernel import overcommit, thp_always

SYSCTL_FILE = "/etc/sysctl.d/90-redis.conf"
OVERHEAD = 0.8  # the share of what is left that maxmemory may take


def _judged(host) -> list[Instance]:
    return [i for i in instances(host) if not i.failed]


def _settings(instance: Instance) -> list[Evidence]:
    limit, policy = instance["maxmemory"], instance["maxmemory-policy"]
    forks = instance.forks()
    return [Evidence(limit.shown("maxmemory") if limit.where else
                     "maxmemory not set (0: no limit on 64-bit)", limit.source),
            Evidence(policy.shown("maxmemory-policy"), policy.source),
            *(Evidence(f"forks for {what}") for what in forks),
            *([] if forks else [Evidence("no persistence that forks (save \"\", appendonly no "
                                         "or no automatic rewrite)")])]


def _room(host, instance: Instance, ram) -> Room:
    """RAM left for ``instance`` once every other consumer of the ledger has its share."""
    return host.ledger.room(claimed(host, instance), ram, "Redis")


def _fit(left: int, forks: bool) -> int:
    """The maxmemory to propose for ``left`` bytes: 80%, halved when the instance forks."""
    return max(int(left * OVERHEAD) // (2 if forks else 1), 0)


def _fix_maxmemory(instance: Instance, left: int, ram) -> str:
    forks = bool(instance.forks())
    size = _fit(left, forks)
    where = instance["maxmemory"].file or instance.inside
    if size < 1 << 20:
        return (f"the other services already claim the {format_size(ram.value)} of RAM: move "
                "Redis to another host, or shrink what the others take, then set maxmemory")
    return snippet(f"in {{file}}:\nmaxmemory {size >> 20}mb\n# {OVERHEAD:.0%} of the "
                   f"{format_size(left)} left for it" + (", halved for the fork's copy-on-write"
                                                         if forks else "")
                   + "\nmaxmemory-policy allkeys-lru   # a cache; a store keeps noeviction "
                     "(writes then fail instead of redis-server being killed)", file=where)


def _live(host, instance: Instance) -> list[Evidence]:
    procs = [p for p in running(host, instance) if p.rss is not None]
    if not procs:
        return []
    return [Evidence(f"redis-server holds {format_size(sum(p.rss for p in procs))} now (RSS)",
                     f"live: {procs[0].name} pid {procs[0].pid}")]


def _split(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return path, int(line)


def _place(instance: Instance) -> tuple[str, int | None]:
    """Where a maxmemory finding points: the line that sets it, else the instance's file."""
    where = instance["maxmemory"].where
    return _split(where) if where else (instance.display, None)


def _key(instance: Instance, path: str, setting: str) -> str:
    """The finding's key: the setting, and the instance when the line is in a file that
    several instances may include (two findings of one file are two instances')."""
    return setting if path == instance.display else f"{setting} of {instance.inside}"


def check_redis001(host):
    """No maxmemory: the dataset grows until the kernel kills redis-server."""
    ram = host.fact("ram")
    for instance in _judged(host):
        if instance.maxmemory:
            continue
        evidence = _settings(instance) + _live(host, instance)
        fix = ("maxmemory 2gb   # what this host can spare for the dataset\n"
               "maxmemory-policy allkeys-lru   # a cache; a store keeps noeviction")
        if ram is not None:
            room = _room(host, instance, ram)
            evidence += room.evidence
            fix = _fix_maxmemory(instance, room.left, ram)
        path, line = _place(instance)
        yield Finding("REDIS001", "Redis has no memory limit (maxmemory not set): its dataset "
                      "grows until the OOM killer ends redis-server", path, line,
                      evidence, fix, key=_key(instance, path, "maxmemory"))


def check_redis002(host):
    """maxmemory above the RAM the other services leave."""
    for instance in _judged(host):
        if not instance.maxmemory:
            continue
        ram = host.require("ram")
        room = _room(host, instance, ram)
        left = room.left
        if instance.maxmemory <= left or not room.judged:
            continue
        path, line = _place(instance)
        yield Finding(
            "REDIS002", f"maxmemory {format_size(instance.maxmemory)} is above the "
            f"{format_size(max(left, 0))} of RAM the other services leave Redis: the dataset "
            "alone can push the host into the OOM killer", path, line,
            [*_settings(instance), *room.evidence, *_live(host, instance)],
            _fix_maxmemory(instance, left, ram), key=_key(instance, path, "maxmemory"))


def check_redis003(host):
    """maxmemory fits, but not with the copy a persistence fork may make of it."""
    for instance in _judged(host):
        forks = instance.forks()
        if not instance.maxmemory or not forks:
            continue
        ram = host.require("ram")
        room = _room(host, instance, ram)
        left = room.left
        if instance.maxmemory > left or 2 * instance.maxmemory <= left or not room.judged:
            continue  # REDIS002's, or it fits, or nothing to judge it against
        size = format_size(instance.maxmemory)
        path, line = _place(instance)
        yield Finding(
            "REDIS003", f"while a BGSAVE or AOF rewrite runs, Redis can grow from maxmemory "
            f"{size} to {format_size(2 * instance.maxmemory)} (the child's pages are copied as "
            f"the parent writes), above the {format_size(left)} of RAM the other services "
            "leave it", path, line,
            [*_settings(instance), *room.evidence, *_live(host, instance)],
            _fix_maxmemory(instance, left, ram) + "\nor, for a cache that need not survive a "
            "restart, no persistence:\nsave \"\"\nappendonly no",
            key=_key(instance, path, "maxmemory"))


def check_redis004(host):
    """vm.overcommit_memory other than 1: Redis's own start-up warning."""
    settings = [s for s in overcommit(host) if s.value != 1]
    for instance in _judged(host):
        forks = instance.forks()
        for setting in settings:
            strict = setting.value == 2
            why = ("strict accounting commits the fork's copy of the whole dataset: the fork "
                   "fails unless CommitLimit covers Redis twice" if strict else
                   "the heuristic mode can refuse the fork of a large redis-server")
            yield Finding(
                "REDIS004", f"vm.overcommit_memory = {setting.value}: redis-server warns "
                "\"Memory overcommit must be enabled! Without it, a background save or "
                f"replication may fail under low memory condition\" ({why})",
                instance.display, None,
                [Evidence(f"vm.overcommit_memory = {setting.value}", setting.where),
                 *(Evidence(f"forks for {what}") for what in forks),
                 Evidence("a replica's full sync forks too, whatever the persistence"),
                 *([Evidence(setting.note)] if setting.note else [])],
                fix=f"in {SYSCTL_FILE}:\nvm.overcommit_memory = 1\nthen: sysctl -w "
                    "vm.overcommit_memory=1\n(SYSCTL002 then reports mode 1 at low: suppress "
                    "it there with the reason: Redis needs it)",
                severity=Severity.MEDIUM if strict and forks else None,
                key="vm.overcommit_memory" if len(settings) == 1 else
                f"vm.overcommit_memory ({setting.where})")


def check_redis005(host):
    """Transparent huge pages [always] and Redis not turning them off for itself."""
    always = thp_always(host)
    if always is None:
        return
    for instance in _judged(host):
        disable = instance["disable-thp"]
        if disable.value and disable.where:
            continue  # Redis 7.0+ turns THP off for its own process (prctl)
        if disable.where:
            path, line = _split(disable.where)
            said, severity = disable.shown("disable-thp"), None
        else:  # Redis 7.0+ defaults to yes; older versions have no such setting
            (path, line), severity = (instance.display, None), Severity.LOW
            said = "disable-thp not set (yes on Redis 7.0 and newer, unknown to older ones)"
        yield Finding(
            "REDIS005", "transparent huge pages are [always] and Redis does not turn them off "
            "for itself" + ("" if disable.where else " unless it is 7.0 or newer") + ": a "
            "fork's copy-on-write copies 2 MiB for a written page instead of 4 KiB, and "
            "redis-server warns about it", path, line,
            [Evidence("transparent huge pages: always", always.source),
             Evidence(said, disable.source),
             *(Evidence(f"forks for {what}") for what in instance.forks())],
            fix=snippet("in {file}:\ndisable-thp yes   # Redis 7.0 and newer\nor for the whole "
                        "host (as VM004 sets it): transparent_hugepage=madvise on the kernel "
                        "command line, or now: echo madvise > "
                        "/sys/kernel/mm/transparent_hugepage/enabled",
                        file=disable.file or instance.inside),
            severity=severity, key=_key(instance, path, "disable-thp"))
