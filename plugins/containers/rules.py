"""CONTAINER001-003 checked: memory limits of compose services and Kubernetes containers,
and the service inside against the limit it was given. Each side's reading is imported by
the checks of that side (a compose file's run needs no Kubernetes code, and the reverse).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from oomaudit import Evidence, Finding
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .constants import COMPOSE, KUBERNETES
from .needs import Arg, needs

if TYPE_CHECKING:
    from .kubernetes import KubeContainer
    from .services import Limit


def _unset_note(limit: Limit) -> list[Evidence]:
    leaf = limit.leaf
    if leaf is None or not leaf.unset:
        return []
    names = ", ".join(sorted(set(leaf.unset)))
    return [Evidence(f"{limit.key} {leaf.raw!r} depends on {names}, which the .env next to "
                     f"the file does not set: compose substitutes '' (this verdict assumes "
                     "it stays unset)", leaf.where)]


def check_container001(host):
    from .projects import services
    from .services import limits, service_needs

    for _, service in services(host):
        limit, _ = limits(service)
        if limit.bytes or limit.error:  # an invalid size is CONF001 (see budget)
            continue
        evidence = [Evidence(f"service {service.name}: no mem_limit and no "
                             "deploy.resources.limits.memory", f"{service.path}:{service.line}")]
        if limit.leaf is not None:
            evidence.append(Evidence(f"{limit.shown} means no limit", limit.leaf.where))
        evidence += _unset_note(limit)
        need = service_needs(host, service)
        evidence += [Evidence(f"the service reserves {format_size(n.bytes)}: {n.setting}",
                              f"{n.path}:{n.line}") for n in need]
        size = _limit_text(max((_fit(n) for n in need), default=0)) if need else "512m"
        yield Finding(
            "CONTAINER001", f"compose service '{service.name}' has no memory limit: the OOM "
                            "killer may take any process on the host instead of this container",
            service.path, service.line, evidence,
            fix=snippet(f"services:\n  {{name}}:\n    mem_limit: {size}"
                        + ("   # the service's own setting plus headroom" if need
                           else "   # measure with 'docker stats' and set what it needs"),
                        name=service.name),
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
    yield from _compose_check003(host)
    yield from _kube_check003(host)


def _compose_check003(host):
    if not host.documents(COMPOSE):
        return
    from .projects import services
    from .services import limits, service_needs

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
        for need in service_needs(host, service):
            if need.bytes > limit.bytes:
                yield _over_limit(need, limit.bytes, limit.shown, limit.leaf.where,
                                  f"service '{service.name}'",
                                  f"{limit.key}: {_limit_text(_fit(need))}", service.name)


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
        fix=snippet(f"either raise the limit: {{limit}}   # the setting is at most "
                    f"{need.share:.0%} of it\nor fit the service to the limit: {{fitting}}",
                    limit=limit_fix, fitting=need.fitting(limit)),
        key=f"{owner}: {need.name}")


def check_container002(host):
    from .kubernetes import describe, kube_containers

    for item in kube_containers(host):
        c = item.container
        if "CONTAINER002" in c.ignored or item.limit or \
                (c.limit is not None and c.limit.error):
            continue
        evidence = [Evidence(f"{describe(c)}: resources.limits.memory "
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
            "CONTAINER002", f"{describe(c)} has no memory limit: it may use all of the node's "
                            "memory before the OOM killer picks a victim",
            item.path, c.line, evidence,
            fix=f"resources:\n  limits:\n    memory: {_limit_text(size, True)}"
                f"{note}\n(or a LimitRange with default.memory for the namespace)", key=describe(c))


def _kube_check003(host):
    if not host.documents(KUBERNETES):
        return
    from oomaudit.parsers import kube

    from .kubernetes import describe, kube_containers

    for item in kube_containers(host):
        c = item.container
        if "CONTAINER003" in c.ignored:
            continue
        limit = item.limit
        if limit and c.request is not None and c.request.bytes and c.request.bytes > limit:
            yield Finding(
                "CONTAINER003", f"{describe(c)}: requests.memory {c.request.text} is above its "
                                f"limit {format_size(limit)}: the API server rejects the pod",
                item.path, c.request.line,
                [Evidence(f"requests.memory = {c.request.text} = "
                          f"{format_size(c.request.bytes)}", f"{item.path}:{c.request.line}"),
                 _limit_evidence(item, limit)],
                fix=f"requests:\n  memory: {_limit_text(limit, True)}   # at most the limit",
                key=f"{describe(c)}: requests.memory")
        if not limit:
            continue
        env = {name: Arg(value, item.path, line) for name, (value, line) in kube.env(c).items()}
        args = [Arg(text, item.path, line) for text, line in kube.argv(c)]
        image = kube.get(c.node, "image")
        for need in needs(host, str(image or ""), args, env, []):
            if need.bytes > limit:
                evidence = _limit_evidence(item, limit)
                yield _over_limit(need, limit, evidence.what.split(" = ")[0], evidence.source,
                                  describe(c), f"resources.limits.memory: "
                                               f"{_limit_text(_fit(need), True)}", describe(c))


def _limit_evidence(item: KubeContainer, limit: int) -> Evidence:
    own = item.container.limit
    if own is not None and own.bytes:
        return Evidence(f"limits.memory {own.text} = {format_size(limit)}",
                        f"{item.path}:{own.line}")
    default = item.default
    return Evidence(f"LimitRange {default.name} default.memory {default.quantity.text} = "
                    f"{format_size(limit)}", f"{item.path}")
