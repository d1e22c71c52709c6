"""What a compose service asks of the host: its memory limit and reservation as docker
compose takes them, its replicas, and what the service inside reserves for itself (its
image, command, environment and bind-mounted option files, read by ``needs``).
"""
from __future__ import annotations

import os
from pathlib import Path

from oomaudit.host import FILES
from oomaudit.parsers import compose
from oomaudit.parsers.compose_tree import Leaf, Problem, argv, mount_source, mount_target
from oomaudit.record import Record

from .needs import Arg, Mount, needs
from .projects import report_problem, services


class Limit(Record):
    """A compose memory limit or reservation as docker compose takes it: ``key`` names
    the setting that gave it, ``leaf`` is its value in the file, ``error`` why compose
    rejects it (reported as CONF001; ``bytes`` is then None)."""

    def __init__(self, bytes: int | None, leaf: Leaf | None, key: str, error: str = ""):
        self.bytes = bytes  # None: no limit (unset, 0, empty after interpolation) or invalid
        self.leaf = leaf
        self.key = key
        self.error = error

    @property
    def shown(self) -> str:
        return f"{self.key}: {self.leaf.raw}" if self.leaf else f"{self.key} not set"


def _size(leaf, key: str) -> Limit:
    if not isinstance(leaf, Leaf) or leaf.value is None:
        return Limit(None, None, key)
    value = leaf.value
    if isinstance(value, bool):
        return Limit(None, leaf, key, f"{key} must be a size, not {value!r}")
    if isinstance(value, (int, float)):
        return Limit(int(value) or None, leaf, key)
    text = str(value)
    if text == "" and leaf.unset:
        return Limit(None, leaf, key)
    try:
        return Limit(compose.ram_in_bytes(text) or None, leaf, key)
    except ValueError as exc:
        return Limit(None, leaf, key, f"docker compose rejects {key} {text!r}: {exc}")


def _path(config: dict, *keys: str):
    for key in keys:
        if not isinstance(config, dict):
            return None
        config = config.get(key)
    return config


def limits(service: compose.Service) -> tuple[Limit, Limit]:
    """(limit, reservation) in force: ``deploy.resources`` wins over ``mem_limit`` /
    ``mem_reservation`` when set (docker compose's getDeployResources)."""
    config = service.config
    pairs = []
    for deploy_key, flat in (("limits", "mem_limit"), ("reservations", "mem_reservation")):
        deployed = _size(_path(config, "deploy", "resources", deploy_key, "memory"),
                         f"deploy.resources.{deploy_key}.memory")
        pairs.append(deployed if deployed.bytes or deployed.error else
                     _size(config.get(flat), flat))
    return pairs[0], pairs[1]


def replicas(service: compose.Service) -> int:
    for value in (_path(service.config, "deploy", "replicas"), service.config.get("scale")):
        if isinstance(value, Leaf):
            try:
                return max(int(str(value.value)), 0)
            except ValueError:
                continue
    return 1


def service_needs(host, service: compose.Service):
    """What the service's own settings reserve, once per service (mounted option files
    are read here, so their problems are reported before the CONF rules run)."""
    cache = host.cache.setdefault("compose.needs", {})
    if id(service) not in cache:
        cache[id(service)] = _read_needs(host, service)
    return cache[id(service)]


def mounted_files(host) -> set[Path]:
    """Host files bind-mounted into a compose service (e.g. ./my.cnf): the service inside
    the container uses them, so another plugin must not count them as a server of the
    host itself (the container's ledger entry already does). Every service is read on the
    first call only: each pool or server of the host asks (1,600 pools times 1,600 compose
    services were 2.5 M calls)."""
    mounted = host.cache.get("compose.mounted-all")
    if mounted is None:
        for _, service in services(host):
            service_needs(host, service)
        mounted = host.cache["compose.mounted-all"] = host.cache.setdefault("compose.mounted",
                                                                            set())
    return mounted


def in_containers(host, paths: list) -> bool:
    """True when each of ``paths`` (a server's option files, a pool file) is bind-mounted into
    a compose service: the process that reads it runs in that container, whose ledger entry
    (its limit, or what the service inside reserves) counts it already, and CONTAINER003
    judges the file against the limit. Its own plugin must not count it a second time."""
    mounted = mounted_files(host)
    return bool(paths) and all(host.fs.identity(p) in mounted for p in paths)


def _read_needs(host, service: compose.Service):
    config = service.config
    image = config.get("image")
    args = [Arg(leaf.text(), leaf.path, leaf.line)
            for key in ("entrypoint", "command") for leaf in argv(config.get(key))]
    env = {}
    for name, leaf in _shaped(host, service, "environment", dict).items():
        if isinstance(leaf, Leaf) and leaf.value is not None:
            env[str(name)] = Arg(leaf.text(), leaf.path, leaf.line)
    mounts = []
    for volume in _shaped(host, service, "volumes", list):
        odd = [k for k in ("source", "target") if isinstance(volume, dict)
               and volume.get(k) is not None and not isinstance(volume[k], Leaf)]
        if odd:
            report_problem(host, Problem(
                "CONF001", f"service {service.name!r}: a volume's {odd[0]} must be a path, not "
                           "a list or mapping; docker compose refuses the file",
                service.path, service.line, f"{service.name}: volumes"))
        source, target = mount_source(volume), mount_target(volume)
        if source is None or target is None:
            continue
        real = _host_path(host, source, service)
        if real is not None:
            mounts.append(Mount(real, target, source.path, source.line))
            host.cache.setdefault("compose.mounted", set()).add(host.fs.identity(real))
    text = image.text() if isinstance(image, Leaf) else ""
    return needs(host, text, args, env, mounts)


def _shaped(host, service: compose.Service, key: str, kind: type) -> list | dict:
    """The service's ``key`` if it is a ``kind`` (compose has made ``environment`` lists
    mappings already); anything else is a CONF001 (``docker compose`` refuses the file:
    "volumes must be a array") and is read as empty."""
    value = service.config.get(key)
    if value is None or isinstance(value, kind):
        return value or kind()
    where = value if isinstance(value, Leaf) else service
    shown = repr(value.text()) if isinstance(value, Leaf) else (
        "a mapping" if isinstance(value, dict) else "a list")
    wanted = "a list" if kind is list else "a mapping or a list of NAME=VALUE"
    example = {"volumes": "volumes: [\"./my.cnf:/etc/mysql/conf.d/my.cnf:ro\"]",
               "environment": "environment: {MYSQL_DATABASE: app}"}[key]
    report_problem(host, Problem(
        "CONF001", f"service {service.name!r}: {key} must be {wanted}, not {shown}; docker "
                   f"compose refuses the file (e.g. '{example}')", where.path, where.line,
        f"{service.name}: {key}"))
    return kind()


def _host_path(host, leaf: Leaf, service: compose.Service) -> Path | None:
    text = leaf.text()
    if os.path.isabs(text):
        return host.resolve(text) if host.mode != FILES else None
    folder = Path(leaf.path).parent if host.fs.exists(leaf.path) else service.folder
    return compose.relative(folder, text)
