"""PostgreSQL clusters: each main postgresql.conf with what the server reads after it,
loaded as the server loads it, named as the ledger and the rules name it, with its
postmaster when one runs. Built once per run from the host's postgresql documents.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.parsers import pgcluster
from oomaudit.parsers.pgcluster import PgConfig
from oomaudit.record import Record

from .constants import PLUGIN, READER


class PgFile(Record):
    """What parse() can know without the host: the file. Includes are followed later,
    through the host, once every file of the run has been found."""

    def __init__(self, source: object):
        self.source = source


class Postmaster(NamedTuple):
    """A running server: its process, the memory its processes hold, its options."""

    pid: int
    command: str
    rss: int | None  # the postmaster alone
    total_rss: int | None  # every server process of the cluster (shared pages in each)
    processes: int
    overrides: tuple[tuple[str, str], ...]  # -c name=value, -B, -N
    data_dir: str | None  # -D


class Cluster(Record):
    """One cluster: its configuration as the server reads it, its name in the ledger
    (``postgresql NAME``, with the file when two share a name), and its postmaster if live."""

    def __init__(self, config: PgConfig, service: str, live: Postmaster | None = None):
        self.config = config
        self.service = service
        self.live = live


def clusters(host) -> list[Cluster]:
    """Every cluster of the host, once per run: a postgresql file that another one includes
    (conf.d, auto.conf) belongs to that cluster and is not a cluster of its own."""
    if "postgresql" in host.cache:
        return host.cache["postgresql"]
    live = host.cache.get("postgresql.live", {})
    loaded = []
    for doc in host.documents(PLUGIN):
        postmaster = live.get(doc.source.path)
        if postmaster:
            config = pgcluster.load(host, doc.source, READER, postmaster.overrides,
                                    postmaster.data_dir)
        else:
            config = pgcluster.load(host, doc.source, READER)
        loaded.append((config, postmaster))
    included = {id(s) for config, _ in loaded for s in config.files[1:]}
    roots = [(c, p) for c, p in loaded if id(c.source) not in included]
    result = []
    names = [service_name(c) for c, _ in roots]
    for (config, postmaster), name in zip(roots, names, strict=True):
        if names.count(name) > 1:
            name = f"{name} ({config.source.display})"
        result.append(Cluster(config, name, postmaster))
    host.cache["postgresql"] = result
    return result


def service_name(config: PgConfig) -> str:
    """The cluster's name; also PG001/PG002's fingerprint key (without the cwd-relative
    file that tells two clusters of one name apart in messages: their paths do that)."""
    name = config.cluster or config.texts.get("cluster_name", "")
    return f"postgresql {name}" if name else "postgresql"
