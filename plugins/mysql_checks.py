"""MYSQL001-MYSQL003 and MySQL's share of the memory ledger: the code behind
``mysql.py``, which registers it and says what a server is and how its worst case is
summed. Imported only when there is something to check.
"""
from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import NamedTuple

from oomaudit import Evidence, Finding, Severity
from oomaudit.host import FILES, LIVE, Measured
from oomaudit.parsers import mycnf
from oomaudit.parsers.mysql_values import (
    DEFAULT_FLAVOUR,
    Flavour,
    Setting,
    settings,
    variables,
)
from oomaudit.processes import processes
from oomaudit.record import Record
from oomaudit.rootfs import realpath
from oomaudit.units import format_size

from .containers import COMPOSE
from .mysql import DEFAULT_FILES, PLUGIN, READER

SERVER_NAMES = ("mysqld", "mariadbd")
WEB_READERS = ("nginx", "apache", "php-fpm")
WEB_PROCESSES = ("nginx", "apache2", "httpd")
CHUNK = 128 << 20  # innodb_buffer_pool_chunk_size: the pool grows in these steps
MYSQLTUNER = "MySQLTuner 2.8.36 (mysqltuner.pl, calculations())"


# -- servers -----------------------------------------------------------------------------

class Server(Record):
    """One mysqld: its option files as loaded, the flavour (server and version) they
    are read as, each numeric variable in effect (the default when unset), and
    ``occurrences``, every setting as written, which MYSQL003 judges one by one."""

    def __init__(self, config: mycnf.ServerConfig, flavour: Flavour,
                 effective: dict[str, Setting], occurrences: list[Setting],
                 procs: list | None = None):
        self.config = config
        self.flavour = flavour
        self.effective = effective
        self.occurrences = occurrences
        self.procs = [] if procs is None else procs  # live processes running this config

    @property
    def where(self) -> str:
        return self.config.options[0].path if self.config.options else \
            str(self.config.top[0]) if self.config.top else "mysqld"


def servers(host) -> list[Server]:
    """Every server of the host, once per run."""
    if "mysql.servers" not in host.cache:
        host.cache["mysql.servers"] = [
            _server(host, tops, procs) for tops, procs in _server_files(host)]
    return host.cache["mysql.servers"]


def _server_files(host) -> list[tuple[list[Path], list]]:
    if host.mode == FILES:
        return [([top], []) for top in _repository_tops(host)]
    defaults = [p for p in (host.resolve(f) for f in DEFAULT_FILES) if p and p.is_file()]
    if host.mode != LIVE:
        return [(defaults, [])] if defaults else []
    found: dict[tuple, list] = {}
    for proc in processes(host):
        if proc.name in SERVER_NAMES:
            tops = _command_line_files(proc.cmdline, defaults, host)
            found.setdefault(tuple(tops), []).append(proc)
    if not found and defaults:
        found[tuple(defaults)] = []
    return [(list(tops), procs) for tops, procs in found.items() if tops]


def _command_line_files(argv, defaults: list[Path], host) -> list[Path]:
    """The option files a mysqld command line selects (they must come first, as in the
    server): --no-defaults, --defaults-file=F, --defaults-extra-file=F."""
    tops = list(defaults)
    for arg in argv[1:]:
        name, _, value = arg.partition("=")
        if name == "--no-defaults":
            return []
        if name == "--defaults-file" and value:
            tops = [host.resolve(value, "/")]
        elif name == "--defaults-extra-file" and value:
            tops.append(host.resolve(value, "/"))
        elif not name.startswith("--defaults"):
            break
    return [p for p in tops if p is not None]


def _repository_tops(host) -> list[Path]:
    """In a config repository: every given option file that no other given file includes
    (conf.d files are part of the my.cnf that includes them). Files that include each
    other in a loop are one server, named after the first of them."""
    docs = [d.path for d in host.documents(PLUGIN)]
    loader = _loader(host, DEFAULT_FLAVOUR)
    closures = {doc: set(loader.load([doc]).files) - {doc} for doc in docs}
    includers: dict[Path, list[Path]] = {}
    for doc, closure in closures.items():
        for reached in closure:
            includers.setdefault(reached, []).append(doc)
    tops: list[Path] = []
    covered: set[Path] = set()
    for doc in docs:
        outside = [d for d in includers.get(doc, ()) if d not in closures[doc]]
        if not outside and doc not in covered:
            tops.append(doc)
            covered |= closures[doc]
    return tops


def _locate(host):
    """Where a path named by an option file is. Relative paths depend on mysqld's working
    directory: / under systemd, unknown in a repository. In a repository laid out like /
    (``hosts/db1/etc/mysql/my.cnf``) an absolute path is looked up from the including
    file's folder upwards (``hosts/db1/etc/mysql/conf.d``), and only found inside the
    folder that holds every file of the check: nothing of the machine running it leaks in."""
    if host.mode != FILES:
        return lambda path, includer: host.resolve(path, "/")
    if "mysql.locate" in host.cache:
        return host.cache["mysql.locate"]
    folders = [str(p.absolute().parent) for _, p in host.files]
    floor = Path(os.path.commonpath(folders)) if folders else None

    def locate(path: str, includer: Path) -> Path | None:
        if floor is None or not posixpath.isabs(path):
            return None
        inside = posixpath.normpath(path).lstrip("/")
        for folder in includer.absolute().parents:
            found = folder / inside
            if (found == floor or floor in found.parents) and found.exists():
                # the same spelling as discovery's, so that a file is one file
                return found if includer.is_absolute() else Path(os.path.relpath(found))
        return None
    host.cache["mysql.locate"] = locate
    return locate


def _loader(host, flavour: Flavour) -> mycnf.Loader:
    return mycnf.Loader(host, READER, flavour.groups(), _locate(host),
                        host.cache.setdefault("mycnf", {}))


def _server(host, tops: list[Path], procs: list) -> Server:
    flavour = _flavour(host, tops, procs)
    config = _loader(host, flavour).load(tops)
    effective, occurrences = settings(config.options, flavour)
    sizes = [p.rss for p in procs if p.rss is not None]
    if sizes:  # what `oomaudit facts` writes: the server's processes, by the file they read
        host.measured[(PLUGIN, str(tops[0]))] = Measured(
            PLUGIN, str(tops[0]), len(procs), sum(sizes), max(sizes), None, "",
            f"live: {procs[0].name} pid {procs[0].pid}")
    return Server(config, flavour, effective, occurrences, procs)


# -- flavour and version -----------------------------------------------------------------

_VERSION_GROUP = re.compile(r"(mysqld|mariadb|mariadbd)-(\d+)\.(\d+)$")
_PACKAGES = re.compile(r"(mariadb|mysql)-server-core(?:-(\d+)\.(\d+))?$")


def _flavour(host, tops: list[Path], procs: list) -> Flavour:
    """The server in effect: the running binary and the installed package, else what the
    option files say (version groups, MariaDB-only groups), else Debian's MariaDB."""
    package = _installed(host)
    if procs:
        name = "MariaDB" if _is_mariadb(procs[0]) else "MySQL"
        version = package.version if package and package.name == name else \
            DEFAULT_FLAVOUR.version if name == "MariaDB" else (8, 0)
        return Flavour(name, version, f"live: {procs[0].name} pid {procs[0].pid}"
                       + (f", {package.source}" if package else ""))
    if package:
        return package
    return _from_groups(host, tops) or DEFAULT_FLAVOUR


def _is_mariadb(proc) -> bool:
    if proc.name == "mariadbd":
        return True
    try:
        return os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")).startswith("mariadbd")
    except OSError:
        return False


def _installed(host) -> Flavour | None:
    """The server package dpkg installed under the audited root, if any."""
    status = host.resolve("/var/lib/dpkg/status") if host.mode != FILES else None
    if status is None or not status.is_file():
        return None
    try:
        with open(status, encoding="utf-8", errors="replace") as fh:
            stanzas = fh.read().split("\n\n")
    except OSError:
        return None
    for stanza in stanzas:
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line)
        m = _PACKAGES.match(fields.get("Package", ""))
        if m and fields.get("Status", "").endswith(" installed"):
            version = re.search(r"(?:\d+:)?(\d+)\.(\d+)", fields.get("Version", ""))
            if version:
                name = "MariaDB" if m.group(1) == "mariadb" else "MySQL"
                return Flavour(name, (int(version.group(1)), int(version.group(2))),
                               f"installed package {fields['Package']} {fields['Version']}")
    return None


def _from_groups(host, tops: list[Path]) -> Flavour | None:
    loader = _loader(host, DEFAULT_FLAVOUR)
    config = loader.load(tops)
    mariadb_hint = None
    for real in config.files:
        parsed = loader.option_file(real)
        for item in parsed.items if parsed else ():
            if item.kind != "group":
                continue
            name = item.text.lower()
            where = f"[{item.text}] in {parsed.source.display}:{item.line}"
            m = _VERSION_GROUP.match(name)
            if m:
                major, minor = int(m.group(2)), int(m.group(3))
                if m.group(1) != "mysqld" or major >= 10:
                    return Flavour("MariaDB", (major, minor), f"version group {where}")
                return Flavour("MySQL", (major, minor), f"version group {where}")
            if name in ("mariadb", "mariadbd") and mariadb_hint is None:
                mariadb_hint = Flavour("MariaDB", DEFAULT_FLAVOUR.version,
                                       f"MariaDB-only group {where}; version 10.11 assumed")
    if mariadb_hint:
        return mariadb_hint
    for real in config.files:
        if "mysql.conf.d" in real.as_posix():  # Debian and Ubuntu's MySQL 8 layout
            return Flavour("MySQL", (8, 0), f"MySQL's mysql.conf.d layout ({real}); "
                                            "version 8.0 assumed")
    return None


# -- the worst case ----------------------------------------------------------------------

class Term(NamedTuple):
    """One term of the worst case: a variable's value and where it was set
    (``path:line``, or the flavour's default)."""

    name: str
    bytes: int
    source: str


class WorstCase(NamedTuple):
    """MySQLTuner's sum: the ``server`` buffers once, plus the ``thread`` buffers
    once per connection. ``connections`` is max_connections: its ``bytes`` is a count."""

    server: list[Term]
    thread: list[Term]
    connections: Term

    @property
    def server_bytes(self) -> int:
        return sum(t.bytes for t in self.server)

    @property
    def thread_bytes(self) -> int:
        return sum(t.bytes for t in self.thread)

    @property
    def total(self) -> int:
        return self.server_bytes + self.connections.bytes * self.thread_bytes


SERVER_TERMS = ("key_buffer_size", "innodb_buffer_pool_size", "innodb_log_buffer_size",
                "query_cache_size", "aria_pagecache_buffer_size")
THREAD_TERMS = ("read_buffer_size", "read_rnd_buffer_size", "sort_buffer_size", "thread_stack",
                "join_buffer_size", "binlog_cache_size")


def worst_case(server: Server) -> WorstCase:
    """MySQLTuner's max_peak_memory without performance_schema (a live figure): server
    buffers + max_connections x per-thread buffers. In-memory temporary tables count
    min(tmp_table_size, max_heap_table_size) as MySQLTuner does; on MySQL 8 the TempTable
    engine's shared temptable_max_ram replaces that term."""
    eff = server.effective
    terms = [_term(server, n) for n in SERVER_TERMS if n in eff]
    if "temptable_max_ram" in eff:
        terms.append(_term(server, "temptable_max_ram"))
    else:
        smaller = min(("tmp_table_size", "max_heap_table_size"), key=lambda n: _bytes(eff, n))
        base = _term(server, smaller)
        terms.append(Term(f"min(tmp_table_size, max_heap_table_size) = {smaller}", base.bytes,
                          base.source))
    thread = [_term(server, n) for n in THREAD_TERMS]
    return WorstCase(terms, thread, _term(server, "max_connections"))


def _bytes(eff: dict[str, Setting], name: str) -> int:
    return eff[name].value.number  # settings() keeps only values the server accepted


def _term(server: Server, name: str) -> Term:
    return Term(name, _bytes(server.effective, name), _origin(server, name))


def _origin(server: Server, name: str) -> str:
    option = server.effective[name].option
    if option is None:
        return f"default of {server.flavour.label}"
    return f"{option.path}:{option.line}"


# -- facts around the server -------------------------------------------------------------

def web_tier(host) -> list[Evidence]:
    """Evidence that a web tier shares the host: its configs, or (live) its processes."""
    found = []
    for name in WEB_READERS:
        docs = host.documents(name)
        if docs:
            found.append(Evidence(f"web tier on this host: {name} configured",
                                  _document_place(docs[0])))
    if host.live:
        names = sorted({p.name for p in processes(host)
                        if p.name in WEB_PROCESSES or p.name.startswith("php-fpm")})
        found += [Evidence(f"web tier on this host: {n} running", "live: processes")
                  for n in names]
    return found


def _document_place(doc) -> str:
    source = getattr(doc, "source", None)
    path = getattr(source, "display", None) or getattr(doc, "path", None)
    return str(path) if path else "parsed config"


def _live_evidence(server: Server) -> list[Evidence]:
    return [Evidence(f"{p.name} pid {p.pid} resident now: "
                     f"{format_size(p.rss) if p.rss is not None else 'unreadable'}",
                     f"live: /proc/{p.pid}") for p in server.procs]


def _flavour_evidence(server: Server) -> Evidence:
    return Evidence(f"server: {server.flavour.label}", server.flavour.source)


def _size_text(nbytes: int) -> str:
    """A value for my.cnf: whole G when exact, else M."""
    return f"{nbytes >> 30}G" if nbytes % (1 << 30) == 0 and nbytes else f"{nbytes >> 20}M"


# -- rules -------------------------------------------------------------------------------

def check_mysql001(host):
    """innodb_buffer_pool_size above 70% of RAM (high), or above 50% with a web tier on
    the host (medium)."""
    for server in servers(host):
        if server.config.aborted:
            continue
        setting = server.effective["innodb_buffer_pool_size"]
        pool = setting.value.number
        ram = host.require("ram")
        web = web_tier(host)
        share = pool / ram.value
        if share > 0.70:
            limit, severity, why = 0.70, Severity.HIGH, "above 70% of RAM"
        elif web and share > 0.50:
            limit, severity, why = 0.50, Severity.MEDIUM, "above 50% of RAM with a web tier " \
                                                          "on the same host"
        else:
            continue
        fit = max(CHUNK, int(ram.value * limit) // CHUNK * CHUNK)
        option = setting.option
        evidence = [Evidence(f"innodb_buffer_pool_size = {format_size(pool)} "
                             f"({share:.0%} of RAM)", _origin(server, "innodb_buffer_pool_size")),
                    Evidence(f"RAM = {format_size(ram.value)}", ram.source),
                    _flavour_evidence(server), *web[:3], *_live_evidence(server)]
        yield Finding(
            "MYSQL001", f"innodb_buffer_pool_size {format_size(pool)} is {share:.0%} of RAM "
                        f"{format_size(ram.value)}: {why}",
            option.path if option else server.where, option.line if option else None,
            evidence, severity=severity,
            fix=f"innodb_buffer_pool_size = {_size_text(fit)}   "
                f"# {limit:.0%} of {format_size(ram.value)}, in whole 128 MiB chunks"
                + ("; leave the rest to the web tier and the page cache" if web else ""),
            key="innodb_buffer_pool_size")


def check_mysql002(host):
    """MySQLTuner's worst case above RAM (high) or above RAM + swap (critical)."""
    for server in servers(host):
        if server.config.aborted:
            continue
        worst = worst_case(server)
        ram = host.require("ram")
        swap = host.fact("swap")
        total = worst.total
        if total <= ram.value:
            continue
        beyond = swap is not None and total > ram.value + swap.value
        evidence = [Evidence(f"{t.name} = {format_size(t.bytes)}", t.source) for t in worst.server]
        evidence += [Evidence(f"per thread: {t.name} = {format_size(t.bytes)}", t.source)
                     for t in worst.thread]
        conns = worst.connections
        evidence += [
            Evidence(f"max_connections = {conns.bytes}", conns.source),
            Evidence(f"worst case = {format_size(worst.server_bytes)} + {conns.bytes} x "
                     f"{format_size(worst.thread_bytes)} = {format_size(total)}", MYSQLTUNER),
            Evidence(f"RAM = {format_size(ram.value)}", ram.source)]
        if swap is not None:
            evidence.append(Evidence(f"swap = {format_size(swap.value)}", swap.source))
        evidence += [_flavour_evidence(server), *_live_evidence(server)]
        option = _culprit(server, worst)
        where = "RAM + swap" if beyond else "RAM"
        limit = ram.value + (swap.value if beyond else 0)
        yield Finding(
            "MYSQL002", f"worst-case memory {format_size(total)} (MySQLTuner's sum) exceeds "
                        f"{where} {format_size(limit)}",
            option.path if option else server.where, option.line if option else None,
            evidence, severity=Severity.CRITICAL if beyond else None,
            fix=_fit(worst, ram.value))  # key "": one per server, its culprit's file says which


def _culprit(server: Server, worst: WorstCase):
    """Where to point: max_connections if set, else the largest term a file sets."""
    weight = {t.name: t.bytes * worst.connections.bytes for t in worst.thread}
    weight.update({t.name: t.bytes for t in worst.server})
    names = ["max_connections", *sorted(weight, key=weight.get, reverse=True)]
    return next((server.effective[n].option for n in names
                 if n in server.effective and server.effective[n].option), None)


def _fit(worst: WorstCase, ram: int) -> str:
    """max_connections that fits beside the server buffers, else a smaller buffer pool."""
    room = ram - worst.server_bytes
    fits = room // worst.thread_bytes if worst.thread_bytes and room > 0 else 0
    if fits >= 10:
        return (f"max_connections = {fits}   # {format_size(room)} left after the server "
                f"buffers / {format_size(worst.thread_bytes)} per connection")
    pool = next(t.bytes for t in worst.server if t.name == "innodb_buffer_pool_size")
    others = worst.total - pool
    smaller = (ram * 7 // 10 - others) // CHUNK * CHUNK
    if smaller >= CHUNK:
        return (f"innodb_buffer_pool_size = {_size_text(smaller)}   # 70% of RAM minus the "
                f"other buffers ({format_size(others)})")
    return "lower max_connections and the per-thread buffers, or give the host more RAM"


def check_mysql003(host):
    """Values the server rejects (it will not start) or clamps (a different value runs)."""
    for server in servers(host):
        flavour = server.flavour.label
        for setting in server.occurrences:
            option, value = setting.option, setting.value
            shown = f"{option.name} = {option.value}"
            evidence = [Evidence(f"{shown} in [{option.group}]", f"{option.path}:{option.line}"),
                        _flavour_evidence(server)]
            if value.error:
                yield Finding("MYSQL003", f"{flavour} rejects {shown}, so {value.consequence}: "
                                          f"{value.error}", option.path, option.line, evidence,
                              severity=Severity.MEDIUM if value.loose else None,
                              fix=_correct(setting, server), key=_option_key(setting))
            elif value.warning:
                yield Finding("MYSQL003", f"{flavour} does not use {shown}: {value.warning}",
                              option.path, option.line, evidence,
                              fix=f"{setting.name} = {value.number}", key=_option_key(setting))
            elif value.ignored:
                yield Finding("MYSQL003", f"{flavour} reads {shown} as {value.number} bytes: "
                                          f"it ignores {value.ignored!r} after the suffix",
                              option.path, option.line, evidence, severity=Severity.INFO,
                              fix=f"{setting.name} = {option.value[:-len(value.ignored)]}",
                              key=_option_key(setting))


def _option_key(setting: Setting) -> str:
    """MYSQL003's fingerprint key: the option and the group it is written in (one file may
    set it for [mysqld] and [mariadb]), never its value."""
    return f"[{setting.option.group}] {setting.name}"


def _correct(setting: Setting, server: Server) -> str:
    """``1.5M`` -> ``1536K``; anything else: the default, as a whole number."""
    m = re.match(r"^[ \t]*(\d+)\.(\d+)[ \t]*([KMGTPE])", setting.option.value or "", re.I)
    if m:
        unit = "KMGTPE".index(m.group(3).upper())
        scale = 10 ** len(m.group(2))  # 1.5 x 1024 as whole numbers: 15 x 1024 // 10
        number = int(m.group(1) + m.group(2)) * 1024 // scale
        return f"{setting.name} = {number}{'KMGTPE'[unit - 1] if unit else ''}   # whole numbers"
    default = variables(server.flavour)[setting.name].default
    text = str(default) if setting.name == "max_connections" else _size_text(default)
    return (f"{setting.name} = {text}   # the default; a whole number with an optional "
            "K, M or G suffix")


def budget(host):
    """Each server's worst case into the ledger (the ``oomaudit_budget`` hook)."""
    in_containers: set[Path] = set()
    if host.documents(COMPOSE):  # bind mounts come from compose files: none, no import
        from .containers_checks import mounted_files

        in_containers = mounted_files(host)
    for server in servers(host):
        if server.config.aborted:
            continue
        if server.config.top and all(realpath(p) in in_containers for p in server.config.top):
            continue  # a container's option file: its compose service is in the ledger
        worst = worst_case(server)
        option = server.effective["max_connections"].option
        where = f"{option.path}:{option.line}" if option else server.where
        host.ledger.add(
            PLUGIN, worst.total,
            f"{format_size(worst.server_bytes)} server buffers + {worst.connections.bytes} "
            f"connections x {format_size(worst.thread_bytes)} per thread "
            f"({server.flavour.label}, as {MYSQLTUNER} sums it)", where, PLUGIN)
