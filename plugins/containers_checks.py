"""CONTAINER001-003 checked: memory limits of compose services and Kubernetes containers,
and the service inside against the limit it was given; live, each cgroup's limits.

Imported only when there is something to check (see ``containers.py``, which registers
and holds the overview). Compose files are merged as docker compose merges them
(oomaudit.parsers.compose), Kubernetes manifests read as checkov reads them
(oomaudit.parsers.kube); what the service inside reserves is ``container_needs``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from oomaudit import Evidence, Finding
from oomaudit.host import FILES
from oomaudit.parsers import compose, kube
from oomaudit.parsers.yamltree import YamlError, load_all
from oomaudit.record import Record
from oomaudit.rootfs import realpath
from oomaudit.units import format_size

from .container_needs import Arg, Mount, needs
from .containers import COMPOSE, COMPOSE_READER, KUBERNETES


class YamlFile(Record):
    """One YAML file as read: its documents up to the first error (CONF001)."""

    def __init__(self, source: object, documents: list | None = None):
        self.source = source
        self.documents = [] if documents is None else documents

    @property
    def root(self):
        return self.documents[0].root if self.documents else None


def parse_yaml(source) -> YamlFile:
    parsed = YamlFile(source)
    try:
        for document in load_all(source.text):
            parsed.documents.append(document)
    except YamlError as exc:
        hint = ""
        if exc.line and "\t" in (source.lines[exc.line - 1:exc.line] or [""])[0]:
            hint = " (YAML forbids tabs for indentation)"
        source.problem("CONF001", exc.line, f"invalid YAML: {exc.message}{hint}",
                       "fix the YAML; docker compose and kubectl refuse this file",
                       key=source.line_text(exc.line))
    return parsed


def looks_like_compose(head: str) -> bool:
    """A top-level ``services:`` key (GitHub workflows nest theirs under jobs)."""
    return re.search(r"^services:[ \t]*(#.*)?$", head, re.M) is not None


def looks_like_kubernetes(head: str) -> bool:
    return bool(re.search(r"^(- )?apiVersion:[ \t]*\S", head, re.M)
                and re.search(r"^(  |- )?kind:[ \t]*\S", head, re.M))


# -- compose projects --------------------------------------------------------------------

def _yaml_reader(host):
    files = host.cache.setdefault("compose.files", {})
    for parsed in host.documents(COMPOSE):
        files.setdefault(parsed.source.path, parsed)

    def read_yaml(path: Path, wanted_by: str):
        if path not in files:
            source = host.read(path, COMPOSE_READER, wanted_by)
            files[path] = parse_yaml(source) if source is not None else None
        parsed = files[path]
        return (parsed.root, parsed.source.display) if parsed is not None else None

    def read_text(path: Path):
        if not path.is_file():
            return None
        source = host.read(path, None)
        return source.text if source is not None else None
    return read_yaml, read_text


def projects(host) -> list[compose.Project]:
    """The compose projects of the host, once per run: each base file with the override
    file compose merges by default; an override file whose base is here is part of it."""
    if "compose.projects" in host.cache:
        return host.cache["compose.projects"]
    read_yaml, read_text = _yaml_reader(host)
    loader = compose.Loader(read_yaml, read_text)
    found = []
    for parsed in host.documents(COMPOSE):
        path = parsed.source.path
        if compose.is_override(path.name) and any(
                (path.parent / name).is_file() for name in compose.BASE_NAMES):
            continue
        override = compose.override_for(path)
        found.append(loader.project([path] + ([override] if override else [])))
    found = [p for p in found if realpath(p.files[0]) not in loader.extended]
    for project in found:
        for problem in project.problems:
            _report(host, problem)
    host.cache["compose.projects"] = found
    return found


def _report(host, problem: compose.Problem) -> None:
    source = next((s for s in host.sources.values() if s.display == problem.path), None)
    if source is not None:
        source.problem(problem.rule, problem.line, problem.message, key=problem.key)
    else:
        host.diagnostics.append(Finding(problem.rule, problem.message, problem.path,
                                        problem.line, key=problem.key))


class Limit(Record):
    """A compose memory limit or reservation as docker compose takes it: ``key`` names
    the setting that gave it, ``leaf`` is its value in the file, ``error`` why compose
    rejects it (reported as CONF001; ``bytes`` is then None)."""

    def __init__(self, bytes: int | None, leaf: compose.Leaf | None, key: str,
                 error: str = ""):
        self.bytes = bytes  # None: no limit (unset, 0, empty after interpolation) or invalid
        self.leaf = leaf
        self.key = key
        self.error = error

    @property
    def shown(self) -> str:
        return f"{self.key}: {self.leaf.raw}" if self.leaf else f"{self.key} not set"


def _size(leaf, key: str) -> Limit:
    if not isinstance(leaf, compose.Leaf) or leaf.value is None:
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
        if isinstance(value, compose.Leaf):
            try:
                return max(int(str(value.value)), 0)
            except ValueError:
                continue
    return 1


def _service_needs(host, service: compose.Service):
    """What the service's own settings reserve, once per service (mounted option files
    are read here, so their problems are reported before the CONF rules run)."""
    cache = host.cache.setdefault("compose.needs", {})
    if id(service) not in cache:
        cache[id(service)] = _read_needs(host, service)
    return cache[id(service)]


def mounted_files(host) -> set[Path]:
    """Host files bind-mounted into a compose service (e.g. ./my.cnf): the service inside
    the container uses them, so another plugin must not count them as a server of the
    host itself (the container's ledger entry already does)."""
    for _, service in services(host):
        _service_needs(host, service)
    return host.cache.setdefault("compose.mounted", set())


def _read_needs(host, service: compose.Service):
    config = service.config
    image = config.get("image")
    args = [Arg(leaf.text(), leaf.path, leaf.line)
            for key in ("entrypoint", "command") for leaf in compose.argv(config.get(key))]
    env = {}
    for name, leaf in _shaped(host, service, "environment", dict).items():
        if isinstance(leaf, compose.Leaf) and leaf.value is not None:
            env[str(name)] = Arg(leaf.text(), leaf.path, leaf.line)
    mounts = []
    for volume in _shaped(host, service, "volumes", list):
        odd = [k for k in ("source", "target") if isinstance(volume, dict)
               and volume.get(k) is not None and not isinstance(volume[k], compose.Leaf)]
        if odd:
            _report(host, compose.Problem(
                "CONF001", f"service {service.name!r}: a volume's {odd[0]} must be a path, not "
                           "a list or mapping; docker compose refuses the file",
                service.path, service.line, f"{service.name}: volumes"))
        source, target = compose.mount_source(volume), compose.mount_target(volume)
        if source is None or target is None:
            continue
        real = _host_path(host, source, service)
        if real is not None:
            mounts.append(Mount(real, target, source.path, source.line))
            host.cache.setdefault("compose.mounted", set()).add(realpath(real))
    text = image.text() if isinstance(image, compose.Leaf) else ""
    return needs(host, text, args, env, mounts)


def _shaped(host, service: compose.Service, key: str, kind: type) -> list | dict:
    """The service's ``key`` if it is a ``kind`` (compose has made ``environment`` lists
    mappings already); anything else is a CONF001 (``docker compose`` refuses the file:
    "volumes must be a array") and is read as empty."""
    value = service.config.get(key)
    if value is None or isinstance(value, kind):
        return value or kind()
    where = value if isinstance(value, compose.Leaf) else service
    shown = repr(value.text()) if isinstance(value, compose.Leaf) else (
        "a mapping" if isinstance(value, dict) else "a list")
    wanted = "a list" if kind is list else "a mapping or a list of NAME=VALUE"
    example = {"volumes": "volumes: [\"./my.cnf:/etc/mysql/conf.d/my.cnf:ro\"]",
               "environment": "environment: {MYSQL_DATABASE: app}"}[key]
    _report(host, compose.Problem(
        "CONF001", f"service {service.name!r}: {key} must be {wanted}, not {shown}; docker "
                   f"compose refuses the file (e.g. '{example}')", where.path, where.line,
        f"{service.name}: {key}"))
    return kind()


def _host_path(host, leaf: compose.Leaf, service: compose.Service) -> Path | None:
    text = leaf.text()
    if os.path.isabs(text):
        return host.resolve(text) if host.mode != FILES else None
    folder = Path(leaf.path).parent if Path(leaf.path).exists() else service.folder
    return compose.relative(folder, text)


def _unset_note(limit: Limit) -> list[Evidence]:
    leaf = limit.leaf
    if leaf is None or not leaf.unset:
        return []
    names = ", ".join(sorted(set(leaf.unset)))
    return [Evidence(f"{limit.key} {leaf.raw!r} depends on {names}, which the .env next to "
                     f"the file does not set: compose substitutes '' (this verdict assumes "
                     "it stays unset)", leaf.where)]


def services(host):
    for project in projects(host):
        for service in project.services:
            yield project, service


def check_container001(host):
    for _, service in services(host):
        limit, _ = limits(service)
        if limit.bytes or limit.error:  # an invalid size is CONF001 (see budget)
            continue
        evidence = [Evidence(f"service {service.name}: no mem_limit and no "
                             "deploy.resources.limits.memory", f"{service.path}:{service.line}")]
        if limit.leaf is not None:
            evidence.append(Evidence(f"{limit.shown} means no limit", limit.leaf.where))
        evidence += _unset_note(limit)
        need = _service_needs(host, service)
        evidence += [Evidence(f"the service reserves {format_size(n.bytes)}: {n.setting}",
                              f"{n.path}:{n.line}") for n in need]
        size = _limit_text(max((_fit(n) for n in need), default=0)) if need else "512m"
        yield Finding(
            "CONTAINER001", f"compose service '{service.name}' has no memory limit: the OOM "
                            "killer may take any process on the host instead of this container",
            service.path, service.line, evidence,
            fix=f"services:\n  {service.name}:\n    mem_limit: {size}"
                + ("   # the service's own setting plus headroom" if need
                   else "   # measure with 'docker stats' and set what it needs"),
            key=service.name)


def _fit(need) -> int:
    """A limit that fits a service's setting with headroom, in whole 64 MiB."""
    step = 64 << 20
    return -(-int(need.bytes / need.share) // step) * step


def _limit_text(nbytes: int, kube_units: bool = False) -> str:
    if nbytes % (1 << 30) == 0:
        return f"{nbytes >> 30}{'Gi' if kube_units else 'g'}"
    return f"{nbytes >> 20}{'Mi' if kube_units else 'm'}"


def check_container003(host):
    for _, service in services(host):
        limit, reservation = limits(service)
        if limit.bytes and reservation.bytes and reservation.bytes > limit.bytes:
            yield Finding(
                "CONTAINER003", f"service '{service.name}': memory reservation "
                                f"{format_size(reservation.bytes)} is above its limit "
                                f"{format_size(limit.bytes)}: docker refuses to start it",
                reservation.leaf.path, reservation.leaf.line,
                [Evidence(f"{reservation.shown} = {format_size(reservation.bytes)}",
                          reservation.leaf.where),
                 Evidence(f"{limit.shown} = {format_size(limit.bytes)}", limit.leaf.where)],
                fix=f"{reservation.key}: {_limit_text(limit.bytes)}   # at most the limit",
                key=f"{service.name}: {reservation.key}")
        if not limit.bytes:
            continue
        for need in _service_needs(host, service):
            if need.bytes > limit.bytes:
                yield _over_limit(need, limit.bytes, limit.shown, limit.leaf.where,
                                  f"service '{service.name}'",
                                  f"{limit.key}: {_limit_text(_fit(need))}", service.name)
    yield from _kube_check003(host)


def _over_limit(need, limit: int, shown: str, where: str, who: str, limit_fix: str,
                owner: str) -> Finding:
    """``owner``: the compose service or Kubernetes container, for the fingerprint key."""
    return Finding(
        "CONTAINER003", f"{who}: {need.service} {format_size(need.bytes)} alone is above the "
                        f"container's memory limit {format_size(limit)}: the container will be "
                        "OOM-killed as the service fills it",
        need.path, need.line,
        [Evidence(f"{need.setting} = {format_size(need.bytes)} ({need.service})",
                  f"{need.path}:{need.line}"),
         Evidence(f"{shown} = {format_size(limit)}", where)],
        fix=f"either raise the limit: {limit_fix}   # the setting is at most "
            f"{need.share:.0%} of it\nor fit the service to the limit: {need.fitting(limit)}",
        key=f"{owner}: {need.name}")


# -- Kubernetes --------------------------------------------------------------------------

class KubeContainer(Record):
    """A Kubernetes container with the manifest it is in and the LimitRange default of
    its namespace, which ``limit`` falls back on when the container's own is unset or 0."""

    def __init__(self, container: kube.Container, path: str, default: kube.Default | None):
        self.container = container
        self.path = path
        self.default = default  # the LimitRange default that applies, if any

    @property
    def limit(self) -> int | None:
        own = self.container.limit
        if own is not None and own.bytes:
            return own.bytes
        if own is not None and own.error:
            return None
        return self.default.quantity.bytes if self.default else None


def kube_containers(host) -> list[KubeContainer]:
    if "kube.containers" in host.cache:
        return host.cache["kube.containers"]
    files = host.documents(KUBERNETES)
    defaults = [d for parsed in files for doc in parsed.documents
                for d in kube.limit_defaults(doc.root)]
    found = []
    for parsed in files:
        source = parsed.source
        for doc in parsed.documents:
            for container in kube.containers(doc.root):
                for quantity in (container.limit, container.request):
                    if quantity is not None and quantity.error:
                        kind = "limits" if quantity is container.limit else "requests"
                        source.problem("CONF001", quantity.line,
                                       f"memory {quantity.text!r}: the API server rejects it: "
                                       f"{quantity.error}", "write a quantity such as 512Mi",
                                       key=f"{_who(container)}: {kind}.memory")
                default = next((d for d in defaults if d.namespace == container.namespace), None)
                found.append(KubeContainer(container, source.display, default))
    host.cache["kube.containers"] = found
    return found


def _who(c: kube.Container) -> str:
    where = f" in namespace {c.namespace}" if c.namespace else ""
    kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}
    return f"{kind.get(c.kind, 'container')} '{c.name}' of {c.workload}{where}"


def check_container002(host):
    for item in kube_containers(host):
        c = item.container
        if "CONTAINER002" in c.ignored or item.limit or \
                (c.limit is not None and c.limit.error):
            continue
        evidence = [Evidence(f"{_who(c)}: resources.limits.memory "
                             + ("is 0 (no limit)" if c.limit is not None else "not set"),
                             f"{item.path}:{c.limit.line if c.limit else c.line}")]
        if c.request is not None and c.request.bytes:
            evidence.append(Evidence(f"requests.memory = {c.request.text} "
                                     f"({format_size(c.request.bytes)})",
                                     f"{item.path}:{c.request.line}"))
        size = max(c.request.bytes if c.request and c.request.bytes else 0, 512 << 20)
        size = -(-size // (64 << 20)) * (64 << 20)
        note = ("   # ephemeral containers cannot set resources: they share the pod's; "
                "remove it once debugged") if c.kind == "ephemeralContainers" else ""
        yield Finding(
            "CONTAINER002", f"{_who(c)} has no memory limit: it may use all of the node's "
                            "memory before the OOM killer picks a victim",
            item.path, c.line, evidence,
            fix=f"resources:\n  limits:\n    memory: {_limit_text(size, True)}"
                f"{note}\n(or a LimitRange with default.memory for the namespace)", key=_who(c))


def _kube_check003(host):
    for item in kube_containers(host):
        c = item.container
        if "CONTAINER003" in c.ignored:
            continue
        limit = item.limit
        if limit and c.request is not None and c.request.bytes and c.request.bytes > limit:
            yield Finding(
                "CONTAINER003", f"{_who(c)}: requests.memory {c.request.text} is above its "
                                f"limit {format_size(limit)}: the API server rejects the pod",
                item.path, c.request.line,
                [Evidence(f"requests.memory = {c.request.text} = "
                          f"{format_size(c.request.bytes)}", f"{item.path}:{c.request.line}"),
                 _limit_evidence(item, limit)],
                fix=f"requests:\n  memory: {_limit_text(limit, True)}   # at most the limit",
                key=f"{_who(c)}: requests.memory")
        if not limit:
            continue
        env = {name: Arg(value, item.path, line) for name, (value, line) in kube.env(c).items()}
        args = [Arg(text, item.path, line) for text, line in kube.argv(c)]
        image = kube.get(c.node, "image")
        for need in needs(host, str(image or ""), args, env, []):
            if need.bytes > limit:
                evidence = _limit_evidence(item, limit)
                yield _over_limit(need, limit, evidence.what.split(" = ")[0], evidence.source,
                                  _who(c), f"resources.limits.memory: "
                                           f"{_limit_text(_fit(need), True)}", _who(c))


def _limit_evidence(item: KubeContainer, limit: int) -> Evidence:
    own = item.container.limit
    if own is not None and own.bytes:
        return Evidence(f"limits.memory {own.text} = {format_size(limit)}",
                        f"{item.path}:{own.line}")
    default = item.default
    return Evidence(f"LimitRange {default.name} default.memory {default.quantity.text} = "
                    f"{format_size(limit)}", f"{item.path}")


# -- the ledger and the live host --------------------------------------------------------

def budget(host):
    """Read everything before the rules run (the CONF rules report what reading found),
    then put each compose service in the ledger."""
    kube_containers(host)
    for _, service in services(host):
        limit, reservation = limits(service)
        for size in (limit, reservation):
            if size.error:
                _report(host, compose.Problem("CONF001", size.error, size.leaf.path,
                                              size.leaf.line, f"{service.name}: {size.key}"))
        _service_needs(host, service)
        count = replicas(service)
        if not count:
            continue
        times = f" x {count} replicas" if count > 1 else ""
        if limit.bytes:
            host.ledger.add(f"compose:{service.name}", limit.bytes * count,
                            f"{limit.shown}{times} (the container's hard limit)",
                            limit.leaf.where, "containers")
            continue
        need = _service_needs(host, service)
        if need:
            top = max(need, key=lambda n: n.bytes)
            host.ledger.add(f"compose:{service.name}", top.bytes * count,
                            f"unbounded: no memory limit; at least its {top.setting}{times}",
                            f"{top.path}:{top.line}", "containers")


_CONTAINER_CGROUP = re.compile(r"(docker|containerd|libpod|kubepods|crio|lxc)", re.I)


def collect(host):
    from oomaudit.host import Fact, Table
    from oomaudit.processes import processes

    inside = next((f for f in ("/.dockerenv", "/run/.containerenv") if Path(f).exists()), None)
    if inside:
        host.facts["container"] = Fact(True, f"live: {inside} exists: oomaudit audits from "
                                             "inside a container; RAM is its cgroup limit")
    groups: dict[str, list] = {}
    for proc in processes(host):
        groups.setdefault(proc.cgroup, []).append(proc)
    rows = []
    own = os.getpid()
    for path, procs in sorted(groups.items()):
        mine = any(p.pid == own for p in procs)
        container = bool(_CONTAINER_CGROUP.search(path))
        found = _limits_of(procs[0].pid)
        if not (found or container or (mine and inside)):
            continue
        rss = sum(p.rss or 0 for p in procs)
        shown = {k: format_size(v[0]) for k, v in found.items()}
        label = path + (" (oomaudit itself)" if mine else "")
        rows.append([label, len(procs), format_size(rss), shown.get("max", "max"),
                     shown.get("high", "max"), shown.get("swap", "max")])
        if not container:
            continue  # units and the host itself: their services' plugins budget them
        if "max" in found:
            host.ledger.add(f"cgroup:{path}", found["max"][0], "the cgroup's memory limit",
                            f"live: {found['max'][1]}", "containers")
        else:
            host.ledger.add(f"cgroup:{path}", rss, "unbounded: no memory limit; resident now",
                            f"live: /proc ({len(procs)} processes)", "containers")
    if rows:
        title = "cgroup memory limits" + (f" (audited from inside a container: {inside})"
                                          if inside else "")
        host.tables["cgroups"] = Table(title, ["cgroup", "procs", "RSS now", "memory.max",
                                               "memory.high", "swap.max"], rows)


def _limits_of(pid: int) -> dict:
    """The limits in force for a process, from its own /proc/PID/cgroup (v2 and v1 lines:
    on a hybrid host the memory controller may be v1 while the unified path is "/")."""
    from oomaudit import cgroups

    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return {}
    return cgroups.limits(text)
