"""The Elasticsearch and OpenSearch nodes of a host: each config folder (ES_PATH_CONF)
whose jvm.options or jvm.options.d/*.options were read, with the options the launcher
passes to a JVM of major ``JVM_MAJOR``, and the compose services that run either image.
"""
from __future__ import annotations

from pathlib import Path

from oomaudit.plugins.jvm.heap import Word

from oomaudit.record import Record

from .constants import ELASTICSEARCH, OPENSEARCH, READER
from .heap import JVM_MAJOR

# ES_JAVA_OPTS for Elasticsearch's images, OPENSEARCH_JAVA_OPTS for OpenSearch's
JAVA_OPTS = {ELASTICSEARCH: "ES_JAVA_OPTS", OPENSEARCH: "OPENSEARCH_JAVA_OPTS"}
# the heap options of the images' own jvm.options: Elasticsearch's (7.11+) has none,
# OpenSearch's sets 1 GiB
_IMAGE = "the image's jvm.options"
IMAGE_OPTIONS = {ELASTICSEARCH: (), OPENSEARCH: (Word("-Xms1g", _IMAGE), Word("-Xmx1g", _IMAGE))}


class Node(Record):
    """One node's options in force (``words``); ``display`` names it in findings and
    the ledger; ``path``/``line`` is where a finding about it points."""

    def __init__(self, flavour: str, display: str, words: list, path: str,
                 line: int | None, limit: tuple | None = None, mounted: bool = False):
        self.flavour = flavour
        self.display = display
        self.words = words
        self.path = path
        self.line = line
        self.limit = limit  # a compose service's (bytes, shown, where, key), else None
        # its files are bind-mounted into a compose service: the node runs in that
        # container, which the containers plugin has in the ledger at its limit
        self.mounted = mounted


def _folder(path: Path) -> Path:
    return path.parent.parent if path.parent.name == "jvm.options.d" else path.parent


def flavour_of(text: str) -> str:
    return OPENSEARCH if "opensearch" in text.lower() else ELASTICSEARCH


def nodes(host) -> list[Node]:
    """The nodes of the jvm.options documents, one per config folder, read once."""
    if "elasticsearch.nodes" not in host.cache:
        host.cache["elasticsearch.nodes"] = _file_nodes(host) + _compose_nodes(host)
    return host.cache["elasticsearch.nodes"]


def _file_nodes(host) -> list[Node]:
    folders: dict[Path, list] = {}
    for document in host.documents(READER.name):
        folders.setdefault(_folder(Path(document.source.path)), []).append(document)
    found = []
    mounted = {host.fs.identity(p) for p in _mounted(host)}
    for folder, documents in folders.items():
        # jvm.options first, then jvm.options.d's files by name (a TreeSet of paths)
        documents.sort(key=lambda d: (Path(d.source.path).parent != folder,
                                      Path(d.source.path).name))
        words = [Word(o.text, f"{d.source.display}:{o.line}") for d in documents
                 for o in d.options if o.applies(JVM_MAJOR)]
        top = documents[0].source
        flavour = flavour_of(str(folder))
        words += _unit_options(host, flavour, folder)
        files = {host.fs.identity(d.source.path) for d in documents}
        inside = bool(mounted & (files | {host.fs.identity(folder),
                                          host.fs.identity(folder / "jvm.options.d")}))
        found.append(Node(flavour, f"{flavour} node", words, top.display, None,
                          mounted=inside))
    return found


def _mounted(host) -> set:
    """Host files and folders a compose service bind-mounts (none without compose)."""
    from oomaudit.plugins.containers.constants import COMPOSE

    if not host.documents(COMPOSE):
        return set()
    from oomaudit.plugins.containers.services import mounted_files

    return mounted_files(host)


def _unit_options(host, flavour: str, folder: Path) -> list[Word]:
    """ES_JAVA_OPTS (OPENSEARCH_JAVA_OPTS) of the package's unit, ``elasticsearch.service``
    or ``opensearch.service``, when its config folder (ES_PATH_CONF, OPENSEARCH_PATH_CONF,
    /etc/NAME by default) is ``folder``: the unit's Environment= and EnvironmentFile=
    (/etc/default/elasticsearch, /etc/sysconfig/elasticsearch) as the JVM plugin reads
    them. The launcher reads the variable after the files, so its options win."""
    if not host.documents("systemd"):
        return []
    from oomaudit.plugins.jvm.starts import environment, split
    from oomaudit.plugins.systemd.units import units_of

    unit = units_of(host).units.get(f"{flavour}.service")
    if unit is None:
        return []
    env, _ = environment(host, unit)  # (the environment, EnvironmentFiles not read)
    conf = env.get("ES_PATH_CONF" if flavour == ELASTICSEARCH else "OPENSEARCH_PATH_CONF")
    real = host.resolve(conf.text if conf else f"/etc/{flavour}")
    opts = env.get(JAVA_OPTS[flavour])
    if real is None or opts is None or host.fs.identity(real) != host.fs.identity(folder):
        return []
    return [Word(w, opts.where) for w in split(opts.text)]


def _compose_nodes(host) -> list[Node]:
    from oomaudit.plugins.containers.constants import COMPOSE

    if not host.documents(COMPOSE):
        return []
    from oomaudit.plugins.containers.projects import services
    from oomaudit.plugins.containers.services import limits

    from oomaudit.parsers.compose_tree import Leaf

    found = []
    for _, service in services(host):
        image = service.config.get("image")
        name = image.text() if isinstance(image, Leaf) else ""
        base = name.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
        if base not in (ELASTICSEARCH, OPENSEARCH):
            continue
        env = service.config.get("environment")
        opts = env.get(JAVA_OPTS[base]) if isinstance(env, dict) else None
        words = list(IMAGE_OPTIONS[base])
        if isinstance(opts, Leaf):
            words += [Word(w, opts.where) for w in opts.text().split()]
        limit = limits(service)[0]
        bound = (limit.bytes, limit.shown, limit.leaf.where, limit.key) if limit.bytes else None
        found.append(Node(base, f"compose service '{service.name}' ({name})", words,
                          service.path, service.line, bound))
    return found
