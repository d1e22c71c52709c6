"""Redis instances: each redis-server's configuration as it loads it, with the settings in
effect. Every rule and the ledger ask ``instances(host)``, built once per run.

An instance is a redis.conf that no other file of the host includes (Sentinel's files are
none). ``include`` is read where it stands, so a setting after it overrides the included
file's: a path with ``*``, ``?`` or ``[`` is a glob whose matches are read in byte order
(glibc's glob sorts by the locale's collation, byte order in the C locale) and may match
nothing; any other path must exist, or redis-server exits ("Fatal error, can't open config
file"). Redis follows includes without a depth limit, so a loop never ends (CONF002). A
relative path hangs off redis-server's working directory: ``/`` for a systemd unit without
``WorkingDirectory=``, unknown in a config repository.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from oomaudit.hosttree import upward
from oomaudit.parsers import redis_values, redisconf
from oomaudit.parsers.redisconf import BOOL, ENUM, INT, MEMORY, SAVE, RedisFile
from oomaudit.record import Record

from .constants import PLUGIN, READER

_CONVERT = {MEMORY: redis_values.memory, INT: redis_values.integer, ENUM: redis_values.lower,
            BOOL: lambda text: redis_values.lower(text) == "yes"}  # arguments check() passed
DEFAULT_SAVE = ((3600, 1), (300, 100), (60, 10000))  # Redis 7.0's when no save line is read
DEFAULTS = {"maxmemory": 0, "maxmemory-policy": "noeviction", "appendonly": False,
            "auto-aof-rewrite-percentage": 100, "disable-thp": True, "port": 6379}


class Value(Record):
    """A setting in effect and the line that set it (``where`` None: Redis's default)."""

    def __init__(self, value, where: str | None = None, written: str = "", file: str = ""):
        self.value = value
        self.where = where
        self.written = written  # the arguments as written, for evidence
        self.file = file  # the file as the audited system names it (/etc/redis/redis.conf)

    def shown(self, name: str) -> str:
        return f"{name} {self.written}" if self.where else f"{name} not set ({self.value})"

    @property
    def source(self) -> str:
        return self.where or "Redis default"


class Instance(Record):
    """One redis-server: its top file, every file it read, the settings in effect, and
    ``failed`` when redis-server refuses to start with these files (the CONF001/CONF002
    finding says why, and no rule judges memory it would never use)."""

    def __init__(self, top):
        self.top = top  # oomaudit.Source
        self.files: list = []
        self.values: dict[str, Value] = {k: Value(v) for k, v in DEFAULTS.items()}
        self.save: list[tuple[int, int]] = list(DEFAULT_SAVE)
        self.save_lines: list[str] = []  # where save was written; [] for the default
        self.save_loaded = False  # the first save line replaces the default, later ones add
        self.reading = False  # redis-server's reading_config_file (see _save)
        self.failed = False

    def __getitem__(self, name: str) -> Value:
        return self.values[name]

    @property
    def display(self) -> str:
        return self.top.display

    @property
    def inside(self) -> str:
        """The top file as the audited system names it, for fixes."""
        return self.top.inside or self.top.display

    @property
    def maxmemory(self) -> int:
        return self.values["maxmemory"].value

    def forks(self) -> list[str]:
        """What makes redis-server fork a child whose pages are copied as the parent writes
        them: RDB snapshots on ``save``, automatic AOF rewrites; each with where it is set."""
        reasons = []
        if self.save:
            params = " ".join(f"{s} {c}" for s, c in self.save)
            where = ", ".join(self.save_lines) if self.save_lines else "Redis default"
            reasons.append(f"RDB snapshots: save {params} ({where})")
        aof, rewrite = self["appendonly"], self["auto-aof-rewrite-percentage"]
        if aof.value and rewrite.value > 0:
            reasons.append(f"AOF rewrites: appendonly yes ({aof.source}), "
                           f"auto-aof-rewrite-percentage {rewrite.value} ({rewrite.source})")
        return reasons


def instances(host) -> list[Instance]:
    """Every Redis instance of the host, once per run."""
    if "redis.instances" not in host.cache:
        parsed = {doc.source.path: doc for doc in host.documents(PLUGIN)}
        loaded = []
        for doc in host.documents(PLUGIN):
            if not doc.sentinel:
                instance = Instance(doc.source)
                _text(host, instance, [doc], parsed, ())
                loaded.append(instance)
        host.cache["redis.instances"] = _tops(loaded)
    return host.cache["redis.instances"]


def _tops(loaded: list[Instance]) -> list[Instance]:
    """The instances no other one includes. Files that include each other (a loop) are
    one instance, named after the first of them."""
    reached = {id(i): {s.path for s in i.files[1:]} - {i.top.path} for i in loaded}
    tops, covered = [], set()
    for inst in loaded:
        outside = [o for o in loaded if o is not inst and inst.top.path in reached[id(o)]
                   and o.top.path not in reached[id(inst)]]
        if not outside and inst.top.path not in covered:
            tops.append(inst)
            covered |= reached[id(inst)]
    return tops


def _text(host, instance: Instance, docs: list, parsed: dict, chain: tuple) -> None:
    """One text redis-server reads (``loadServerConfigFromString``): a file, or the files
    of a glob include joined. It reads it with ``reading_config_file`` set, and clears
    that when done, also when the text was an include: the rest of the including file is
    then read as CONFIG SET would set it."""
    instance.reading = True
    for doc in docs:
        if doc is None:  # unreadable (CONF003 names it): redis-server exits too
            instance.failed = True
        else:
            _read(host, instance, doc, parsed, chain)
    instance.reading = False


def _read(host, instance: Instance, doc: RedisFile, parsed: dict, chain: tuple) -> None:
    source = doc.source
    instance.files.append(source)
    if any(p.rule == "CONF001" for p in source.problems):  # redis-server refuses a line
        instance.failed = True
    chain += (source.path,)
    for directive in doc.directives:
        if directive.name == "include":
            _include(host, instance, source, directive, parsed, chain)
            continue
        kind = redisconf.SETTINGS.get(directive.name)
        if kind is None:
            continue
        where = f"{source.display}:{directive.line}"
        if kind == SAVE:
            _save(instance, directive.args, where)
            continue
        instance.values[directive.name] = Value(_CONVERT[kind](directive.args[0]), where,
                                                " ".join(directive.args),
                                                source.inside or source.display)


def _save(instance: Instance, args: tuple[str, ...], where: str) -> None:
    """``setConfigSaveOption``: ``save ""`` empties the list. While a text is read, the
    first save line of all replaces Redis's default and every later one adds its pairs;
    after an include has returned (``reading_config_file`` cleared) each one replaces the
    list, and a bare ``save`` empties it."""
    if args == ("",):
        args = ()
        instance.save, instance.save_lines = [], []
    if not instance.reading or not instance.save_loaded:
        instance.save, instance.save_lines = [], []
        instance.save_loaded = instance.save_loaded or instance.reading
    instance.save += redis_values.save_params(redis_values.save_args(args)) if args else []
    instance.save_lines.append(where)


def _include(host, instance: Instance, source, directive, parsed: dict, chain: tuple) -> None:
    path = directive.args[0]
    loop = (f"include {path}: the files include each other in a loop; redis-server follows "
            "includes without a limit and crashes", "remove the include that closes the loop")
    files = _files(host, path, source.path)
    if files is None:  # where it points cannot be known here (see _locate); whatever it
        instance.reading = False  # reads, redis-server has cleared reading_config_file
        return
    if not files and not glob.has_magic(path):
        source.problem("CONF002", directive.line, f"include {path}: no such file; "
                       "redis-server refuses to start (Fatal error, can't open config file)",
                       "point include at the file, or use a glob (one that matches nothing "
                       "is skipped)", key=f"include {path}")
        instance.failed = True
        return
    where = f"{source.display}:{directive.line}"
    if any(real in chain for real in files):
        source.problem("CONF002", directive.line, *loop, key=f"include {path}")
        instance.failed = True
        return
    _text(host, instance, _parsed(host, files, parsed, where, glob.has_magic(path)), parsed,
          chain)


def _parsed(host, files: list[Path], parsed: dict, where: str, wild: bool) -> list:
    """The files an include reads, parsed once each; a glob's files as one text (see
    ``redisconf.parse_joined``), once per set of files."""
    if not files:
        return []
    key = tuple(files) if wild and len(files) > 1 else files[0]
    if key not in parsed:
        sources = [host.read(real, READER, where) for real in files]
        if None in sources:
            parsed[key] = [None if s is None else redisconf.parse(s) for s in sources]
        else:
            parsed[key] = redisconf.parse_joined(sources)
    found = parsed[key]
    return found if isinstance(found, list) else [found]


def _files(host, path: str, includer: Path) -> list[Path] | None:
    """The files an include reads, in order; None when that cannot be known here. The part
    of a glob before its first wildcard is resolved like any path (symlinks inside a tree
    stay inside it), the rest globbed below it; directories match but read as nothing."""
    parts = path.split("/")
    wild = next((i for i, part in enumerate(parts) if glob.has_magic(part)), None)
    if wild is None:
        real = _locate(host, path, includer)
        return None if real is None else [real] if host.fs.is_file(real) else []
    prefix = "/".join(parts[:wild]) or ("/" if path.startswith("/") else ".")
    base = _locate(host, prefix, includer)
    if base is None:
        return None
    try:  # glob(3) sorts the whole list, not each folder's names
        return sorted(host.fs.glob(base / "/".join(parts[wild:])), key=os.fsencode)
    except OSError:
        return []


def _locate(host, path: str, includer: Path) -> Path | None:
    """Where a path an include names is on this host. Live and in a tree, relative paths
    hang off ``/``. In a config repository a relative path cannot be known; an absolute
    one is looked up from the including file's folder upwards, and found only inside the
    folder holding every file of the check (a repository laid out like /:
    ``hosts/c1/etc/redis/redis.conf`` naming ``/etc/redis/extra.conf`` reads
    ``hosts/c1/etc/redis/extra.conf``), and spelled as the includer is."""
    if host.root is not None:
        return host.resolve(path, "/")
    return upward(host, path, includer)
