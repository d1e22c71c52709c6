"""ES001-ES002: Elasticsearch and OpenSearch heaps against the memory they see.

A *node* is one config folder's jvm.options and jvm.options.d/*.options, read as the
launcher reads them (``oomaudit.parsers.jvmoptions``: version-range lines for the bundled
JVM's major), then the ES_JAVA_OPTS / OPENSEARCH_JAVA_OPTS of the package's unit
(/etc/default/elasticsearch, /etc/sysconfig/elasticsearch), or a compose service running
either image with those variables. Its heap is the last -Xmx, or Elasticsearch's automatic heap; its
worst case (heap, direct buffers, code cache, metaspace and threads) enters the memory
ledger as ``elasticsearch`` or ``opensearch``.

This module only registers (every run imports it); the code lives beside it, imported
when there is work: ``nodes`` (the nodes and their options), ``heap`` (the arithmetic),
``budget`` (the ledger) and ``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import COMPOSE, PACKAGE, READER


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_budget(host):
    # Nodes come only from jvm.options and compose documents: without one there is none.
    if not (host.documents(READER.name) or host.documents(COMPOSE)):
        return
    from .budget import add_to_ledger

    add_to_ledger(host)


@hookimpl
def oomaudit_rules():
    return make_rules(checks_in(f"{PACKAGE}.rules", "ES001", "ES002"), "elasticsearch.toml",
                      reads=(READER.name, COMPOSE))
