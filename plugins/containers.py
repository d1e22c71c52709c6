"""CONTAINER001-003: memory limits of compose services and Kubernetes containers, and the
service inside against the limit it was given; live, each cgroup's limits.

The seed's advice: give every container a strict memory limit, so the OOM killer takes
the container instead of the host. Compose files are merged as docker compose merges
them (override file, ``extends``, ``.env`` interpolation: oomaudit.parsers.compose);
Kubernetes manifests are read kind by kind as checkov's CKV_K8S_13 reads them
(oomaudit.parsers.kube), with LimitRange defaults of the same tree. Every limited
compose service enters the host's memory ledger at its limit times its replicas.

This module only registers (it is what the entry point names, and every run imports
it); the readers' code and the checks live in ``containers_checks``, imported when
there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import checks_in, make_rules

CHECKS = "oomaudit.plugins.containers_checks"
COMPOSE, KUBERNETES = "compose", "kubernetes"
# docker compose's default file names: oomaudit.parsers.compose.BASE_NAMES, which its
# loader needs; written out here so that registering imports no parser
# (tests/test_compose.py checks that the two agree).
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_FOLDERS = ("opt/*", "srv/*", "etc/docker/compose", "etc/docker/compose/*")

COMPOSE_READER = Reader(
    name=COMPOSE, parse=f"{CHECKS}:parse_yaml",
    system_paths=tuple(f"{d}/{n}" for d in _FOLDERS for n in BASE_NAMES),
    file_patterns=("compose.yaml", "compose.yml", "compose.*.yaml", "compose.*.yml",
                   "*docker-compose*.yml", "*docker-compose*.yaml"),
    sniff=f"{CHECKS}:looks_like_compose",
    sniff_hint=r"^services:")  # the sniffer wants a top-level services: key
KUBE_READER = Reader(
    name=KUBERNETES, parse=f"{CHECKS}:parse_yaml",
    system_paths=("etc/kubernetes/manifests/*.yaml", "etc/kubernetes/manifests/*.yml"),
    sniff=f"{CHECKS}:looks_like_kubernetes",
    sniff_hint=r"^(?:- )?apiVersion:")  # and a kind:, which the sniffer also wants


@hookimpl
def oomaudit_readers():
    return [COMPOSE_READER, KUBE_READER]


@hookimpl
def oomaudit_collect(host):
    from . import containers_checks

    containers_checks.collect(host)


@hookimpl
def oomaudit_budget(host):
    """Compose services enter the ledger, and reading problems are reported before the
    CONF rules run; a host with neither format has nothing for either."""
    if not (host.documents(COMPOSE) or host.documents(KUBERNETES)):
        return
    from . import containers_checks

    containers_checks.budget(host)


@hookimpl
def oomaudit_rules():
    return (make_rules(checks_in(CHECKS, "CONTAINER001"), "container.toml", reads=(COMPOSE,))
            + make_rules(checks_in(CHECKS, "CONTAINER002"), "container.toml",
                         reads=(KUBERNETES,))
            + make_rules(checks_in(CHECKS, "CONTAINER003"), "container.toml",
                         reads=(COMPOSE, KUBERNETES)))
