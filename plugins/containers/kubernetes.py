"""The Kubernetes containers of a host's manifests, each with the LimitRange default of its
namespace; a memory quantity the API server rejects is a CONF001.
"""
from __future__ import annotations

from oomaudit.parsers import kube
from oomaudit.record import Record

from .constants import KUBERNETES


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
                                       key=f"{describe(container)}: {kind}.memory")
                default = next((d for d in defaults if d.namespace == container.namespace), None)
                found.append(KubeContainer(container, source.display, default))
    host.cache["kube.containers"] = found
    return found


def describe(c: kube.Container) -> str:
    where = f" in namespace {c.namespace}" if c.namespace else ""
    kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}
    return f"{kind.get(c.kind, 'container')} '{c.name}' of {c.workload}{where}"
