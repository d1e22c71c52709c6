"""What the service inside a container is configured to take for itself (CONTAINER003).

Only settings that *reserve* memory the service will fill are used, each read the way
the program reads it: MySQL/MariaDB's ``innodb_buffer_pool_size`` (command-line flags,
Bitnami's ``MYSQL_EXTRA_FLAGS``/``MARIADB_EXTRA_FLAGS``, and option files bind-mounted
from the same tree, through the MySQL plugin's parsers), PostgreSQL's
``shared_buffers`` (``-c``/``--`` flags, the sclorg images' ``POSTGRESQL_SHARED_BUFFERS``),
a JVM's maximum heap with its overhead (``-Xmx``/``-XX:MaxHeapSize`` in the arguments or
the options variables the JVM and image scripts read, as the JVM plugin reads them),
Redis' ``maxmemory``, memcached's ``-m``, mongod's ``--wiredTigerCacheSizeGB`` and Node's
``--max-old-space-size`` (``NODE_OPTIONS``, then node's own options, as the node plugin
reads them). The official ``mysql``/``postgres`` images read no such variables
(``POSTGRES_SHARED_BUFFERS`` set on them does nothing), so none is invented here.

One concern: what a container's own settings reserve, each program's short part here
and its reading in that program's parsers, imported only for an image that runs it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from oomaudit.units import format_size

if TYPE_CHECKING:  # each program's parsers are imported by the image that runs it
    from oomaudit.parsers import mycnf
    from oomaudit.parsers.mysql_values import Flavour


class Arg(NamedTuple):
    """One word of a container's command line, or one environment variable's value, with
    the compose file or manifest line that wrote it: a ``Need`` points there."""

    text: str
    path: str
    line: int


class Mount(NamedTuple):
    """A compose service's bind mount, written at ``path``:``line``: an option file the
    service reads at ``target`` is read here from ``source``."""

    source: Path  # on this machine
    target: str  # inside the container
    path: str
    line: int


class Need(NamedTuple):
    """``setting`` reserves ``bytes`` for ``service``; ``share`` is the part of a limit it
    may sensibly have (the rest is for connections, metaspace, forks)."""

    service: str
    setting: str  # as written, e.g. "--innodb-buffer-pool-size=2G"
    name: str  # the variable, e.g. "innodb_buffer_pool_size"
    bytes: int
    path: str
    line: int
    share: float
    spell: object  # bytes -> the setting as the program takes it

    def fitting(self, limit: int) -> str:
        return self.spell(int(limit * self.share) // (1 << 20) * (1 << 20))


def image_name(image: str) -> tuple[str, str, str]:
    """``docker.io/bitnami/mysql:8.0@sha256..`` -> ("bitnami", "mysql", "8.0")."""
    image = image.split("@", 1)[0]
    path, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    parts = path.lower().split("/")
    return (parts[-2] if len(parts) > 1 else ""), parts[-1], tag


def needs(host, image: str, args: list[Arg], env: dict[str, Arg], mounts: list[Mount],
          reader=None) -> list[Need]:
    vendor, name, tag = image_name(image or "")
    found = []
    if name in ("mysql", "mariadb", "percona", "percona-server", "mysql-server"):
        found += _mysql(host, vendor, name, tag, args, env, mounts, reader)
    if name in ("postgres", "postgresql", "postgis", "timescaledb", "pgvector") or \
            name.startswith("postgresql-"):
        found += _postgres(host, args, env, vendor, mounts)
    if name in ("redis", "redis-stack-server", "redis-stack", "valkey"):
        found += _redis(args)
    if name == "memcached":
        found += _memcached(args)
    if name in ("mongo", "mongodb", "mongodb-community-server", "mongodb-enterprise-server"):
        found += _mongod(args)
    found += _jvm(args, env)
    found += _node(args, env)
    return found


# -- MySQL / MariaDB ---------------------------------------------------------------------

COMMAND_LINE = "command line"  # the group of options given as flags
MYSQL_DIRS = ("/etc/mysql/conf.d", "/etc/mysql/mariadb.conf.d", "/etc/mysql/mysql.conf.d",
              "/etc/my.cnf.d")


def flavour_of(name: str, tag: str) -> Flavour:
    from oomaudit.parsers.mysql_values import DEFAULT_FLAVOUR, Flavour

    m = re.match(r"(\d+)(?:\.(\d+))?", tag)
    mariadb = name == "mariadb"
    if m:
        version = (int(m.group(1)), int(m.group(2) or 0))
        return Flavour("MariaDB" if mariadb else "MySQL", version, f"image tag {name}:{tag}")
    if mariadb:
        return Flavour("MariaDB", DEFAULT_FLAVOUR.version,
                       f"image {name} without a version tag: 10.11 assumed")
    return Flavour("MySQL", (8, 0), f"image {name} without a version tag: 8.0 assumed")


def _mysql(host, vendor, name, tag, args, env, mounts, reader) -> list[Need]:
    from oomaudit.parsers import mycnf
    from oomaudit.parsers.mysql_values import settings

    flavour = flavour_of(name, tag)
    options: list[mycnf.Option] = []
    files = _mounted_cnf(host.fs, mounts)
    if files:
        loader = mycnf.Loader(host, reader, flavour.groups(), lambda path: None,
                              host.cache.setdefault("mycnf", {}))
        options += loader.load(files).options
    flags = list(args)
    if vendor == "bitnami":
        for var in ("MYSQL_EXTRA_FLAGS", "MARIADB_EXTRA_FLAGS"):
            if var in env:
                flags += [Arg(word, env[var].path, env[var].line)
                          for word in env[var].text.split()]
    options += _mysqld_flags(flags)
    effective, _ = settings(options, flavour)
    pool = effective["innodb_buffer_pool_size"]
    if pool.option is None or pool.value.number is None:
        return []
    option = pool.option
    in_file = option.group != COMMAND_LINE
    shown = f"{option.name} = {option.value}" if in_file else option.text
    return [Need(f"{flavour.label} InnoDB buffer pool", shown,
                 "innodb_buffer_pool_size", pool.value.number, option.path, option.line, 0.7,
                 (lambda n: f"innodb_buffer_pool_size = {max(n >> 20, 5)}M") if in_file else
                 (lambda n: f"--innodb-buffer-pool-size={max(n >> 20, 5)}M"))]


def _mounted_cnf(fs, mounts: list[Mount]) -> list[Path]:
    files = []
    for mount in mounts:
        target = mount.target.rstrip("/")
        if target.endswith(".cnf") and target.startswith("/etc/") and fs.is_file(mount.source):
            files.append(mount.source)
        elif target in MYSQL_DIRS and fs.is_dir(mount.source):
            files += [mount.source / name for name in fs.listdir(mount.source)
                      if name.endswith(".cnf") and fs.is_file(mount.source / name)]
    return files


def _mysqld_flags(args: list[Arg]) -> list[mycnf.Option]:
    """``--name=value`` and ``--name value`` as mysqld's my_getopt takes them."""
    from oomaudit.parsers.mycnf import Option

    options = []
    for index, arg in enumerate(args):
        if not arg.text.startswith("--"):
            continue
        name, sep, value = arg.text[2:].partition("=")
        if not sep and index + 1 < len(args) and not args[index + 1].text.startswith("-"):
            value = args[index + 1].text
        elif not sep:
            continue
        options.append(Option(name, value, arg.text, arg.path, arg.line, COMMAND_LINE))
    return options


# -- PostgreSQL --------------------------------------------------------------------------

def _postgres(host, args: list[Arg], env: dict[str, Arg], vendor: str,
              mounts: list[Mount]) -> list[Need]:  # a mounted postgresql.conf: all of it
    from .pgmounted import mounted_config

    candidates = []
    for index, arg in enumerate(args):
        text = arg.text
        if text == "-c" and index + 1 < len(args):
            candidates.append((args[index + 1].text, args[index + 1]))
        elif text.startswith("-c") and len(text) > 2:
            candidates.append((text[2:], arg))
        elif text.startswith("--") and "=" in text:
            candidates.append((text[2:], arg))
    mounted = mounted_config(host, candidates, env, mounts)
    if mounted:
        return [Need("PostgreSQL worst case", mounted[0], "worst case", *mounted[1:])]
    if "POSTGRESQL_SHARED_BUFFERS" in env and vendor in ("centos", "sclorg", "rhel8", "rhel9"):
        arg = env["POSTGRESQL_SHARED_BUFFERS"]
        candidates.insert(0, (f"shared_buffers={arg.text}", arg))
    found = None
    for text, arg in candidates:
        name, _, value = text.partition("=")
        if name.replace("-", "_").lower() != "shared_buffers":
            continue
        from oomaudit.parsers.pgguc import PAGE, InvalidValue, defaults, evaluate

        try:
            pages = evaluate("shared_buffers", value, defaults())
        except InvalidValue:
            continue
        found = Need("PostgreSQL shared buffers", text, "shared_buffers", int(pages) * PAGE,
                     arg.path, arg.line, 0.25, lambda n: f"-c shared_buffers={max(n >> 20, 1)}MB")
    return [found] if found else []


# -- Redis -------------------------------------------------------------------------------

def _redis(args: list[Arg]) -> list[Need]:
    found = None
    for index, arg in enumerate(args):
        if arg.text.lower() == "--maxmemory" and index + 1 < len(args):
            from oomaudit.parsers import redis_values

            value = args[index + 1]
            number = redis_values.memory(value.text)  # as redis-server reads the option
            if number:
                found = Need("Redis", f"--maxmemory {value.text}", "maxmemory", number,
                             value.path, value.line, 0.75, lambda n: f"--maxmemory {n >> 20}mb")
    return [found] if found else []


# -- memcached and mongod ---------------------------------------------------------------

def _memcached(args: list[Arg]) -> list[Need]:
    """An explicit ``-m`` as memcached's getopt and atoi read it (the image's entrypoint
    runs memcached with the words after the program's name, or all of them)."""
    from oomaudit.parsers import memcached

    start = next((i for i, a in enumerate(args) if a.text.startswith("-")), len(args))
    words = [a.text for a in args[start:]]
    options, error, _ = memcached.getopt(words)
    limit = memcached.memory(options, words)
    if error or limit.word is None:
        return []
    arg = args[start + limit.word]
    return [Need("memcached", limit.said, "-m", limit.bytes, arg.path, arg.line, 0.8,
                 lambda n: f"-m {max(n >> 20, 2)}")]


def _mongod(args: list[Arg]) -> list[Need]:
    """``--wiredTigerCacheSizeGB N`` or ``=N`` (the last wins); mongod's own default sizes
    the cache from the container's limit, so without it there is nothing to check."""
    found = None
    for index, arg in enumerate(args):
        name, equals, value = arg.text.partition("=")
        if name != "--wiredTigerCacheSizeGB":
            continue
        if not equals:
            if index + 1 >= len(args):
                continue
            value, arg = args[index + 1].text, args[index + 1]
        try:
            gb = float(value)
        except ValueError:
            continue
        if 0.25 <= gb <= 10000:  # mongod refuses the rest
            found = Need("MongoDB", f"--wiredTigerCacheSizeGB {value}", "wiredTigerCacheSizeGB",
                         int(gb * (1 << 30)), arg.path, arg.line, 0.5,
                         lambda n: f"--wiredTigerCacheSizeGB {max(n / (1 << 30), 0.25):.2f}")
    return [found] if found else []


def _node(args: list[Arg], env: dict[str, Arg]) -> list[Need]:
    """V8's heap limit from the last ``--max-old-space-size``: NODE_OPTIONS first, then the
    options of a command line that runs node (any image: NODE_OPTIONS reaches every node)."""
    if "NODE_OPTIONS" not in env and not any(  # node.heap comes with a node to read
            a.text.rsplit("/", 1)[-1] in ("node", "nodejs") for a in args):
        return []
    from oomaudit.plugins.node.heap import YOUNG, Word, node_options, old_space

    words = [Word(w, env["NODE_OPTIONS"]) for w in env["NODE_OPTIONS"].text.split()] \
        if "NODE_OPTIONS" in env else []
    ran = node_options([a.text for a in args])
    if ran:
        start = next(i for i, a in enumerate(args) if a.text.rsplit("/", 1)[-1] in
                     ("node", "nodejs"))
        words += [Word(w, args[start + 1 + i]) for i, w in enumerate(ran)]
    space, error = old_space(words)
    if error or space is None:
        return []
    arg = space.word.where
    return [Need("Node heap", space.word.text, "--max-old-space-size", space.limit, arg.path,
                 arg.line, 0.75, lambda n: f"--max-old-space-size={max((n - YOUNG) >> 20, 16)}")]


# -- JVM ---------------------------------------------------------------------------------

JAVA_VARS = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS")  # before the command line


def _jvm(args: list[Arg], env: dict[str, Arg]) -> list[Need]:
    """An explicit heap as the JVM reads its options (``oomaudit.plugins.jvm.heap``: the
    last ``-Xmx``/``-XX:MaxHeapSize`` wins; JAVA_TOOL_OPTIONS, then the launcher's own
    variables and the command line, then ``_JAVA_OPTIONS`` over everything). The need is
    the heap with the overhead the process holds beside it, as the JVM plugin counts it."""
    pairs: list[tuple[str, Arg]] = []
    for var in JAVA_VARS:
        if var in env:
            pairs += [(w, env[var]) for w in env[var].text.split()]
    pairs += [(a.text, a) for a in args]
    if "_JAVA_OPTIONS" in env:
        pairs += [(w, env["_JAVA_OPTIONS"]) for w in env["_JAVA_OPTIONS"].text.split()]
    if not any(text.startswith(("-Xmx", "-XX:MaxHeapSize=")) for text, _ in pairs):
        return []  # no heap given (jvm.heap's MaxHeapSize words): its reader is not needed
    from oomaudit.plugins.jvm.heap import Heap, Word, fitting_heap, read_options

    given = read_options([Word(text, str(i)) for i, (text, _) in enumerate(pairs)]).get(
        "MaxHeapSize")
    if given is None or not given.value:
        return []
    arg = pairs[int(given.word.where)][1]
    heap = Heap(int(given.value), given.word.text, "", True)
    return [Need("JVM heap + overhead", f"{given.word.text} + overhead "
                 f"{format_size(heap.overhead)}", "-Xmx", heap.process, arg.path, arg.line,
                 1.0, lambda n: f"-Xmx{max(fitting_heap(n) >> 20, 2)}m")]
