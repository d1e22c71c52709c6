"""CONTAINER001-003: memory limits of compose services and Kubernetes containers, and the
service inside against the limit it was given; live, each cgroup's limits.

The seed's advice: give every container a strict memory limit, so the OOM killer takes
the container instead of the host. Compose files are merged as docker compose merges
them (override file, ``extends``, ``.env`` interpolation: oomaudit.parsers.compose);
Kubernetes manifests are read kind by kind as checkov's CKV_K8S_13 reads them
(oomaudit.parsers.kube), with LimitRange defaults of the same tree. Every limited
compose service enters the host's memory ledger at its limit times its replicas.

This package's ``__init__`` only registers (it is what the entry point names, and every
run imports it); the code lives in modules named for what they hold, imported when there
is work: ``yamlfiles`` (reading and sniffing), ``projects`` (compose projects),
``services`` (a service's limits and what the service inside reserves, with ``needs``),
``kubernetes`` (containers and LimitRange defaults), ``budget``, ``live`` (cgroups) and
``rules``.
"""
from __future__ import annotations

from oomaudit import checks_in, hookimpl, make_rules

from .constants import COMPOSE, COMPOSE_READER, KUBE_READER, KUBERNETES, PACKAGE

RULES = f"{PACKAGE}.rules"


@hookimpl
def oomaudit_readers():
    return [COMPOSE_READER, KUBE_READER]


@hookimpl
def oomaudit_collect(host):
    from . import live

    live.collect(host)


@hookimpl
def oomaudit_budget(host):
    """Compose services enter the ledger, and reading problems are reported before the
    CONF rules run; a host with neither format has nothing for either."""
    if not (host.documents(COMPOSE) or host.documents(KUBERNETES)):
        return
    from . import budget

    budget.budget(host)


@hookimpl
def oomaudit_rules():
    return (make_rules(checks_in(RULES, "CONTAINER001"), "container.toml", reads=(COMPOSE,))
            + make_rules(checks_in(RULES, "CONTAINER002"), "container.toml",
                         reads=(KUBERNETES,))
            + make_rules(checks_in(RULES, "CONTAINER003"), "container.toml",
                         reads=(COMPOSE, KUBERNETES)))
