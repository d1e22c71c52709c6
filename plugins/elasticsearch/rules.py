"""ES001-ES002: an Elasticsearch or OpenSearch node's heap against the memory it sees.

ES001 is Elastic's own guidance (the heap at most half the memory: the rest is for the
filesystem cache and the JVM's off-heap memory); ES002 is the container that is killed
because its limit holds less than the heap and the overhead the JVM plugin documents.
"""
from __future__ import annotations

from oomaudit.plugins.jvm.heap import OVERHEAD_MIN, OVERHEAD_SHARE

from oomaudit import Evidence, Finding
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import sized
from .nodes import JAVA_OPTS, Node, nodes

HEAP_FLAGS = ("-Xms", "-Xmx", "-XX:MaxHeapSize", "-XX:MaxRAM")


def _heap_evidence(node: Node, heap) -> list[Evidence]:
    return [*(Evidence(w.text, w.where) for w in node.words if w.text.startswith(HEAP_FLAGS)),
            Evidence(f"maximum heap {format_size(heap.bytes)}: {heap.how}",
                     heap.where or node.path),
            Evidence(f"process up to {format_size(heap.process)}: {heap.process_how()}")]


def _heap_fix(node: Node, nbytes: int) -> str:
    mib = nbytes >> 20
    if node.limit is None and node.line is None:  # a jvm.options file
        return (f"in jvm.options.d/heap.options (Elasticsearch's documented place; the "
                f"last -Xms/-Xmx wins):\n-Xms{mib}m\n-Xmx{mib}m")
    return f'environment:\n  {JAVA_OPTS[node.flavour]}: "-Xms{mib}m -Xmx{mib}m"'


def check_es001(host):
    for node in nodes(host):
        if node.limit or node.mounted:
            continue  # ES002 judges a node against its container's limit
        ram = host.require("ram")
        heap = sized(host, node)
        if heap is None or heap.bytes <= ram.value // 2:
            continue
        yield Finding(
            "ES001", f"{node.display}: heap {format_size(heap.bytes)} is above half the "
                     f"{format_size(ram.value)} of RAM, which {node.flavour} needs for the "
                     "filesystem cache and the JVM's off-heap memory",
            node.path, node.line,
            [*_heap_evidence(node, heap), Evidence(f"RAM = {format_size(ram.value)}",
                                                   ram.source)],
            fix=_heap_fix(node, ram.value // 2), key=f"{node.display}: heap")


def fitting_heap(limit: int) -> int:
    """The largest heap whose process (heap + the JVM plugin's overhead) fits ``limit``."""
    return max(min(limit - OVERHEAD_MIN, int(limit / (1 + OVERHEAD_SHARE))), 0)


def check_es002(host):
    for node in nodes(host):
        if not node.limit:
            continue
        limit, shown, where, key = node.limit
        heap = sized(host, node)
        if heap.process <= limit:
            continue
        fits = fitting_heap(limit)
        raise_to = -(-heap.process // (256 << 20)) * 256  # MiB, up to a multiple of 256
        fit = (_heap_fix(node, fits) if fits >= 256 << 20 else
               f"no heap fits: {format_size(limit)} holds less than the JVM's overhead")
        yield Finding(
            "ES002", f"{node.display}: heap and JVM overhead {format_size(heap.process)} are "
                     f"above the container's memory limit {format_size(limit)}: the kernel "
                     "kills the container as the JVM fills them",
            node.path, node.line,
            [*_heap_evidence(node, heap), Evidence(f"{shown} = {format_size(limit)}", where)],
            fix=snippet(f"either raise the limit: {{key}}: {raise_to}m\nor fit the heap to the "
                        "limit:\n", key=key) + fit, key=f"{node.display}: heap")
