"""What the containers plugin's registration and its code both need: the two formats, their
readers and compose's default file names. Kept apart from both so that imports run one way
(the code modules import this, never the package's ``__init__``)."""
from __future__ import annotations

from oomaudit import Reader

PACKAGE = "oomaudit.plugins.containers"
COMPOSE, KUBERNETES = "compose", "kubernetes"
# docker compose's default file names: oomaudit.parsers.compose.BASE_NAMES, which its
# loader needs; written out here so that registering imports no parser
# (tests/containers/test_compose.py checks that the two agree).
BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_FOLDERS = ("opt/*", "srv/*", "etc/docker/compose", "etc/docker/compose/*")

COMPOSE_READER = Reader(
    name=COMPOSE, parse=f"{PACKAGE}.yamlfiles:parse_yaml",
    system_paths=tuple(f"{d}/{n}" for d in _FOLDERS for n in BASE_NAMES),
    file_patterns=("compose.yaml", "compose.yml", "compose.*.yaml", "compose.*.yml",
                   "*docker-compose*.yml", "*docker-compose*.yaml"),
    sniff=f"{PACKAGE}.yamlfiles:looks_like_compose",
    sniff_hint=r"^services:",  # the sniffer wants a top-level services: key
    # compose fills ${VAR}; swarm fills {{.Service.Name}}, {{.Node.ID}}, {{.Task.Slot}}
    expands=("${", "{{."))
KUBE_READER = Reader(
    name=KUBERNETES, parse=f"{PACKAGE}.yamlfiles:parse_yaml",
    system_paths=("etc/kubernetes/manifests/*.yaml", "etc/kubernetes/manifests/*.yml"),
    sniff=f"{PACKAGE}.yamlfiles:looks_like_kubernetes",
    sniff_hint=r"^(?:- )?apiVersion:",  # and a kind:, which the sniffer also wants
    expands=("${",))  # a container's shell fills ${VAR} in its command (kubectl keeps it)
