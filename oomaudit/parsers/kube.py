"""Kubernetes manifests: the containers of every workload, with their memory resources.

Kinds and container lists follow checkov's CKV_K8S_13 (BaseK8sContainerCheck): Pod
(``spec``), PodTemplate (``template.spec``), CronJob (``spec.jobTemplate.spec.template
.spec``) and Deployment, DeploymentConfig, DaemonSet, Job, ReplicaSet,
ReplicationController, StatefulSet (``spec.template.spec``); ``containers``,
``initContainers`` and ``ephemeralContainers``. ``kind: List`` (and any ``*List``)
holds its objects in ``items``. A LimitRange's ``type: Container`` ``default.memory``
is the limit the API server gives a container of its namespace that sets none.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..record import Record
from .quantity import QuantityError, to_bytes
from .yamltree import Map, Seq

TEMPLATE_KINDS = ("Deployment", "DeploymentConfig", "DaemonSet", "Job", "ReplicaSet",
                  "ReplicationController", "StatefulSet")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
IGNORE_ANNOTATION = "oomaudit.io/ignore"


class Quantity(NamedTuple):
    """A ``resources`` memory quantity as written, and in bytes; ``error`` is why the API
    server would reject it."""

    text: str
    bytes: int | None  # None: Kubernetes rejects the text
    line: int
    error: str = ""


class Container(Record):
    """One container of a workload, with its memory limit and request. ``replicas`` is how many
    pods run it (``spec.replicas``, a Job's ``parallelism``, else 1); ``ignored`` holds the
    rule ids of the ``oomaudit.io/ignore`` annotation."""

    def __init__(self, name: str, kind: str, line: int, node: Map, workload: str,
                 namespace: str | None, limit: Quantity | None, request: Quantity | None,
                 replicas: int, ignored: frozenset[str] = frozenset()):
        self.name = name
        self.kind = kind  # containers, initContainers, ephemeralContainers
        self.line = line
        self.node = node
        self.workload = workload  # "Deployment/web"
        self.namespace = namespace  # None: whatever namespace kubectl applies it to
        self.limit = limit
        self.request = request
        self.replicas = replicas
        self.ignored = ignored


class Default(NamedTuple):
    """A LimitRange default limit for containers of a namespace."""

    namespace: str | None
    quantity: Quantity
    name: str


def get(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, Map):
            return None
        node = node.get(key)
    return node


def quantity(resources: Any, section: str) -> Quantity | None:
    holder = get(resources, section)
    if not isinstance(holder, Map) or holder.get("memory") is None:
        return None
    value = holder["memory"]
    text = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    line = holder.lines.get("memory", holder.line)
    if isinstance(value, (Map, Seq)):
        return Quantity("", None, line, "memory must be a quantity string")
    try:
        return Quantity(text, to_bytes(text), line)
    except QuantityError as exc:
        return Quantity(text, None, line, str(exc))


def objects(root: Any):
    """The API objects of one YAML document (``List`` kinds flattened)."""
    if not isinstance(root, Map):
        return
    kind = root.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(root.get("items"), Seq):
        for item in root["items"]:
            yield from objects(item)
    elif isinstance(kind, str):
        yield root


def pod_spec(obj: Map) -> tuple[Any, Any]:
    """(pod spec, pod template metadata) of a workload, or (None, None)."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec"), None
    if kind == "PodTemplate":
        return get(obj, "template", "spec"), get(obj, "template", "metadata")
    if kind in TEMPLATE_KINDS:
        return get(obj, "spec", "template", "spec"), get(obj, "spec", "template", "metadata")
    if kind == "CronJob":
        template = get(obj, "spec", "jobTemplate", "spec", "template")
        return get(template, "spec"), get(template, "metadata")
    return None, None


def _ignored(*metas: Any) -> frozenset[str]:
    ids: set[str] = set()
    for meta in metas:
        value = get(meta, "annotations", IGNORE_ANNOTATION)
        if isinstance(value, str):
            ids |= {part.strip().upper() for part in value.split(",") if part.strip()}
    return frozenset(ids)


def _replicas(obj: Map) -> int:
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController",
                "DeploymentConfig"):
        value = get(obj, "spec", "replicas")
    elif kind in ("Job", "CronJob"):
        value = get(obj, "spec", "parallelism") if kind == "Job" else \
            get(obj, "spec", "jobTemplate", "spec", "parallelism")
    else:
        value = None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else 1


def containers(root: Any) -> list[Container]:
    found = []
    for obj in objects(root):
        spec, template_meta = pod_spec(obj)
        if not isinstance(spec, Map):
            continue
        meta = obj.get("metadata")
        name = get(meta, "name")
        namespace = get(meta, "namespace")
        workload = f"{obj.get('kind')}/{name if name is not None else '?'}"
        ignored = _ignored(meta, template_meta)
        for kind in CONTAINER_LISTS:
            items = spec.get(kind)
            if not isinstance(items, Seq):
                continue
            for index, item in enumerate(items):
                if not isinstance(item, Map):
                    continue
                resources = item.get("resources")
                found.append(Container(
                    str(item.get("name", f"#{index}")), kind, items.lines[index], item,
                    workload, str(namespace) if namespace is not None else None,
                    quantity(resources, "limits"), quantity(resources, "requests"),
                    _replicas(obj), ignored))
    return found


def limit_defaults(root: Any) -> list[Default]:
    found = []
    for obj in objects(root):
        if obj.get("kind") != "LimitRange":
            continue
        limits = get(obj, "spec", "limits")
        namespace = get(obj, "metadata", "namespace")
        for item in limits if isinstance(limits, Seq) else ():
            if get(item, "type") == "Container":
                default = quantity(item, "default")
                if default is not None and default.bytes:
                    found.append(Default(str(namespace) if namespace is not None else None,
                                         default, str(get(obj, "metadata", "name"))))
    return found


def env(container: Container) -> dict[str, tuple[str, int]]:
    """Literal ``env`` values (``valueFrom`` cannot be known from the manifest)."""
    result = {}
    items = container.node.get("env")
    for index, item in enumerate(items if isinstance(items, Seq) else ()):
        name, value = get(item, "name"), get(item, "value")
        if isinstance(name, str) and value is not None and not isinstance(value, (Map, Seq)):
            result[name] = (str(value), item.lines.get("value", items.lines[index]))
    return result


def argv(container: Container) -> list[tuple[str, int]]:
    """``command`` then ``args`` as the kubelet passes them (each item one argument)."""
    result = []
    for key in ("command", "args"):
        items = container.node.get(key)
        for index, item in enumerate(items if isinstance(items, Seq) else ()):
            if not isinstance(item, (Map, Seq)) and item is not None:
                result.append((str(item), items.lines[index]))
    return result
