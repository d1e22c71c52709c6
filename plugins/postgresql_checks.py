"""PG001-PG002 and PostgreSQL's share of the memory ledger: the code behind
``postgresql.py``, which registers it and says what a cluster is. Imported only when
there is something to check.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from oomaudit import Evidence, Finding
from oomaudit.host import Measured
from oomaudit.parsers import pgconf
from oomaudit.parsers.pgconf import PgConfig
from oomaudit.processes import processes
from oomaudit.record import Record
from oomaudit.units import format_size

from .postgresql import PLUGIN, READER

MB = 1 << 20
PGTUNE = "pgtune (le0pard/pgtune): shared_buffers = RAM/4, " \
         "work_mem = (RAM - shared_buffers) / ((max_connections + max_worker_processes) x 3)"


class PgFile(Record):
    """What parse() can know without the host: the file. Includes are followed later,
    through the host, once every file of the run has been found."""

    def __init__(self, source: object):
        self.source = source


# -- clusters ----------------------------------------------------------------------------

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
            config = pgconf.load(host, doc.source, READER, postmaster.overrides,
                                 postmaster.data_dir)
        else:
            config = pgconf.load(host, doc.source, READER)
        loaded.append((config, postmaster))
    included = {id(s) for config, _ in loaded for s in config.files[1:]}
    roots = [(c, p) for c, p in loaded if id(c.source) not in included]
    result = []
    names = [_service(c) for c, _ in roots]
    for (config, postmaster), name in zip(roots, names, strict=True):
        if names.count(name) > 1:
            name = f"{name} ({config.source.display})"
        result.append(Cluster(config, name, postmaster))
    host.cache["postgresql"] = result
    return result


def _service(config: PgConfig) -> str:
    """The cluster's name; also PG001/PG002's fingerprint key (without the cwd-relative
    file that tells two clusters of one name apart in messages: their paths do that)."""
    name = config.cluster or config.texts.get("cluster_name", "")
    return f"postgresql {name}" if name else "postgresql"


# -- the worst case ----------------------------------------------------------------------

class Term(NamedTuple):
    """One term of the worst case (shared_buffers, connections, autovacuum): its bytes,
    the arithmetic in ``how``, and where a single setting set it (else "")."""

    label: str
    bytes: int
    how: str
    source: str


def worst_case(config: PgConfig) -> list[Term]:
    """shared_buffers + max_connections x work_mem x hash_mem_multiplier +
    autovacuum_max_workers x (autovacuum_work_mem, or maintenance_work_mem when -1)."""
    def setting(name: str, shown: str) -> str:
        return f"{name} {shown} ({config.origin(name)})"

    shared = config.bytes("shared_buffers")
    conns = int(config.value("max_connections"))
    work = config.bytes("work_mem")
    multiplier = config.value("hash_mem_multiplier")
    workers = int(config.value("autovacuum_max_workers"))
    vacuum = config.bytes("autovacuum_work_mem")
    vacuum_name = "autovacuum_work_mem" if config.value("autovacuum_work_mem") != -1 \
        else "maintenance_work_mem"
    return [
        Term("shared_buffers", shared, f"shared_buffers {pg_size(shared)}",
             config.origin("shared_buffers")),
        Term("connections", int(conns * work * multiplier),
             f"{setting('max_connections', str(conns))} x {setting('work_mem', pg_size(work))}"
             f" x {setting('hash_mem_multiplier', f'{multiplier:g}')}", ""),
        Term("autovacuum", workers * vacuum,
             f"{setting('autovacuum_max_workers', str(workers))} x "
             f"{setting(vacuum_name, pg_size(vacuum))}", ""),
    ]


def _how(terms: list[Term]) -> str:
    return " + ".join(f"{t.label} {format_size(t.bytes)}" for t in terms)


def budget(host):
    """Each cluster's worst case into the ledger (the ``oomaudit_budget`` hook)."""
    for cluster in clusters(host):
        terms = worst_case(cluster.config)
        host.ledger.add(cluster.service, sum(t.bytes for t in terms), _how(terms),
                        cluster.config.source.display, PLUGIN)


# -- live postmasters --------------------------------------------------------------------

def collect(host):
    """Running postmasters: the config file each really reads, its options and RSS."""
    procs = processes(host)
    masters = [p for p in procs if _is_postmaster(p)]
    found = {}
    for proc in masters:
        config_file, data_dir, overrides = _options(proc.cmdline)
        if config_file is None:
            host.note_unreadable(f"live: postmaster PID {proc.pid}",
                                 "started without -D or config_file= (PGDATA from its "
                                 "environment is not read): its config is not audited",
                                 key="postmaster without -D")
            continue
        real = host.resolve(config_file)
        source = host.read(real, READER, f"live: postmaster PID {proc.pid}") if real else None
        if source is None:
            continue
        if all(d.source.path != real for d in host.documents(PLUGIN)):
            host.docs.setdefault(PLUGIN, []).append(PgFile(source))
        title = _title_prefix(overrides, source) if len(masters) > 1 else "postgres: "
        family = [p for p in procs if p.title.startswith(title)] if title else []
        sizes = [p.rss for p in [proc, *family] if p.rss is not None]
        if sizes:  # what `oomaudit facts` writes: the cluster's processes, by its config
            host.measured[(PLUGIN, str(real))] = Measured(
                PLUGIN, str(real), 1 + len(family), sum(sizes), max(sizes), None, "",
                f"live: postmaster pid {proc.pid}")
        found[real] = Postmaster(proc.pid, proc.title, proc.rss, sum(sizes) if sizes else None,
                                 1 + len(family), overrides, data_dir)
    host.cache["postgresql.live"] = found


def _is_postmaster(proc) -> bool:
    first = proc.cmdline[0] if proc.cmdline else ""
    return os.path.basename(first) in ("postgres", "postmaster") and len(proc.cmdline) > 1


def _options(argv: tuple[str, ...]) -> tuple[str | None, str | None,
                                             tuple[tuple[str, str], ...]]:
    """The config file a postmaster reads, its -D and the settings its command line forces."""
    data_dir, settings = None, []
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        flag, value = arg[:2], arg[2:]
        if arg.startswith("--") and "=" in arg:
            settings.append(tuple(arg[2:].split("=", 1)))
            continue
        if flag in ("-D", "-c", "-B", "-N"):
            if not value and args:
                value = args.pop(0)
            if flag == "-D":
                data_dir = value
            elif flag == "-c" and "=" in value:
                settings.append(tuple(value.split("=", 1)))
            elif flag == "-B":
                settings.append(("shared_buffers", value))
            elif flag == "-N":
                settings.append(("max_connections", value))
    names = {n.replace("-", "_").lower(): v for n, v in settings}
    config_file = names.pop("config_file", None)
    if config_file is None and data_dir is not None:
        config_file = os.path.join(data_dir, "postgresql.conf")
    overrides = tuple((n.replace("-", "_"), v) for n, v in settings
                      if n.replace("-", "_").lower() != "config_file")
    return config_file, data_dir, overrides


def _title_prefix(overrides, source) -> str | None:
    """Server processes retitle themselves ``postgres: CLUSTER_NAME: role``; without a
    cluster_name, several clusters' processes cannot be told apart."""
    name = dict(overrides).get("cluster_name")
    if name is None:
        statements, _ = pgconf.parse_text(source.text)
        names = [s.value for s in statements if s.name.lower() == "cluster_name"]
        name = names[-1] if names else ""
    return f"postgres: {name}: " if name else None


# -- rules -------------------------------------------------------------------------------

def _where(config: PgConfig, name: str) -> tuple[str, int | None]:
    item = config.setters.get(name)
    if item is not None and item.source is not None:
        return item.source.display, item.line
    return config.source.display, None


def pg_size(nbytes: int) -> str:
    """A size as postgresql.conf takes it: the largest unit that divides it exactly."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", MB), ("kB", 1024)):
        if nbytes >= size and nbytes % size == 0:
            return f"{nbytes // size}{unit}"
    return f"{max(nbytes // 1024, 64)}kB"


def check_pg001(host):
    if not clusters(host):  # nothing to judge: no need to ask for the RAM
        return
    ram = host.require("ram")
    for cluster in clusters(host):
        config = cluster.config
        shared = config.bytes("shared_buffers")
        if shared * 10 <= ram.value * 4:
            continue
        path, line = _where(config, "shared_buffers")
        share = 100 * shared / ram.value
        quarter = ram.value // 4 // MB * MB
        yield Finding(
            "PG001",
            f"{cluster.service}: shared_buffers {format_size(shared)} is {share:.0f}% of RAM "
            f"{format_size(ram.value)} (more than 40%)",
            path, line,
            evidence=[Evidence(f"shared_buffers = {format_size(shared)}",
                               config.origin("shared_buffers")),
                      Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                      *_live_evidence(cluster)],
            fix=f"shared_buffers = {pg_size(quarter)}    # 25% of RAM, as pgtune sizes it; "
                "the kernel's page cache does the rest", key=_service(config))


def check_pg002(host):
    if not clusters(host):  # nothing to judge: no need to ask for the RAM
        return
    ram = host.require("ram")
    for cluster in clusters(host):
        config = cluster.config
        terms = worst_case(config)
        total = sum(t.bytes for t in terms)
        if total <= ram.value:
            continue
        largest = max(terms, key=lambda t: t.bytes)
        vacuum = "autovacuum_work_mem" if config.value("autovacuum_work_mem") != -1 \
            else "maintenance_work_mem"
        setting = {"connections": "work_mem", "autovacuum": vacuum}.get(largest.label,
                                                                         largest.label)
        path, line = _where(config, setting)
        evidence = [Evidence(f"{t.how} = {format_size(t.bytes)}", t.source) for t in terms]
        evidence.append(Evidence(f"RAM = {format_size(ram.value)}", ram.source))
        yield Finding(
            "PG002",
            f"{cluster.service}: worst case {format_size(total)} ({_how(terms)}) exceeds RAM "
            f"{format_size(ram.value)} by {format_size(total - ram.value)}",
            path, line, evidence=evidence + _live_evidence(cluster),
            fix=fit(config, ram.value), key=_service(config))


def fit(config: PgConfig, ram: int) -> str:
    """Settings in pgtune's spirit that bring the worst case under ``ram``."""
    shared = min(config.bytes("shared_buffers"), ram // 4 // MB * MB)
    workers = int(config.value("autovacuum_max_workers"))
    vacuum = config.bytes("autovacuum_work_mem")
    # pgtune's RAM/16, and never more than a quarter of RAM for all workers together
    vacuum_cap = max(min(ram // 16, ram // 4 // workers) // MB * MB, MB)
    lines = []
    if shared < config.bytes("shared_buffers"):
        lines.append(f"shared_buffers = {pg_size(shared)}")
    if vacuum > vacuum_cap:
        vacuum = vacuum_cap
        lines.append(f"autovacuum_work_mem = {pg_size(vacuum)}")
    conns = int(config.value("max_connections"))
    multiplier = config.value("hash_mem_multiplier")
    left = ram - shared - workers * vacuum
    pgtune = (ram - shared) // ((conns + int(config.value("max_worker_processes"))) * 3)
    work = min(pgtune, int(left / (conns * multiplier))) // 1024 * 1024
    if work >= 4 * MB:  # pgtune's floor: less spills even simple sorts to disk
        if work < config.bytes("work_mem"):
            lines.append(f"work_mem = {pg_size(work)}")
    else:
        work = 4 * MB
        fitting = max(int(left / (work * multiplier)), 1)
        lines.append("work_mem = 4MB")
        lines.append(f"max_connections = {fitting}    # put a pooler such as PgBouncer "
                     "in front for more clients")
    return "\n".join(lines) + f"\n# {PGTUNE}"


def _live_evidence(cluster: Cluster) -> list[Evidence]:
    live = cluster.live
    if live is None:
        return []
    rss = format_size(live.rss) if live.rss is not None else "unreadable"
    items = [Evidence(f"postmaster PID {live.pid} RSS {rss}", f"live: {live.command}")]
    if live.total_rss is not None and live.processes > 1:
        items.append(Evidence(
            f"{live.processes} server processes, RSS together {format_size(live.total_rss)} "
            "(shared_buffers pages count in every process that touched them)", "live: psutil"))
    return items
