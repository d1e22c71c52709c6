"""Running postmasters on a live host (the ``oomaudit_collect`` hook): the config file
each one really reads (``-D``, ``config_file=``), the settings its command line forces,
and the memory its processes hold. A file found only this way becomes a cluster too.
"""
from __future__ import annotations

import os

from oomaudit.host import Measured
from oomaudit.parsers import pgconf
from oomaudit.processes import processes

from .clusters import PgFile, Postmaster
from .constants import PLUGIN, READER


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
