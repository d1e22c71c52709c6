"""An Elasticsearch or OpenSearch node's heap, on top of the JVM plugin's reading of JVM
options (``oomaudit.plugins.jvm.heap``: the last ``-Xmx``/``-XX:MaxHeapSize`` wins, the
JVM's default otherwise, and the documented overhead beside the heap).

The options in force are the launcher's order: jvm.options, each jvm.options.d/*.options
by name, then ES_JAVA_OPTS (OPENSEARCH_JAVA_OPTS). Without ``-Xms``/``-Xmx`` Elasticsearch
7.11+ sizes the heap itself (``MachineDependentHeap``, appended after the user's options
so that it wins over a ``-XX:MaxHeapSize``): for a node with the default roles, half the
memory it sees (its container's limit when it has one), at most 31 GiB, 40% below 1 GiB.
Dedicated master nodes take 60% and machine-learning nodes 40%; the node's roles
(elasticsearch.yml) are not read, so the default roles are assumed. OpenSearch (forked
before 7.11) has no automatic heap: without ``-Xmx`` its JVM takes the JVM's default.
"""
from __future__ import annotations

from oomaudit.plugins.jvm.heap import Heap, Word, max_heap, read_options

from oomaudit.units import format_size

from .constants import ELASTICSEARCH

JVM_MAJOR = 21  # the JDK bundled with Elasticsearch 8.13+ and OpenSearch 2.12+
AUTO_CAP = 31 << 30  # MachineDependentHeap's maximum, below the compressed-oops threshold


def automatic(memory: int, seen: str) -> Heap:
    """Elasticsearch's heap for a node with the default roles seeing ``memory`` bytes."""
    share = 0.4 if memory < 1 << 30 else 0.5
    size = min(int(memory * share), AUTO_CAP) >> 20 << 20
    return Heap(size, f"Elasticsearch's automatic heap: {share:.0%} of the "
                      f"{format_size(memory)} {seen}, at most 31 GiB (no -Xms/-Xmx given)",
                "", False)


def heap(words: list[Word], flavour: str, ram: int | None, limit: int | None = None,
         limit_source: str = "") -> Heap | None:
    """The node's maximum heap; None when it is a share of a RAM nobody declared."""
    if flavour == ELASTICSEARCH and not any(w.text.startswith(("-Xms", "-Xmx"))
                                            for w in words):
        if limit is not None:
            return automatic(limit, f"container limit ({limit_source})")
        return automatic(ram, "of RAM") if ram is not None else None
    options = read_options(words)
    if ram is None and limit is None and options.get("MaxHeapSize") is None:
        return None
    return max_heap(options, ram if ram is not None else 1 << 62, limit, limit_source)
