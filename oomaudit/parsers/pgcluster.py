"""One PostgreSQL cluster's configuration: the values its server would run with.

Measured against ``postgres -C NAME -D DIR`` (tests/postgresql/test_pg_oracle.py):

* ``postgresql.auto.conf`` (ALTER SYSTEM) is read last from the data directory: the
  ``data_directory`` setting of the main file tree, else the main file's own directory.
* Names are case-insensitive. The server marks an earlier assignment dead only when a later
  one is spelled *exactly* alike; every live assignment is applied in order, so a bad value
  spelled differently from the last one still stops the server.

The files come from ``pginclude``, each value is evaluated by ``pgguc``; a value the
server refuses becomes CONF001 at its line.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path

from ..record import Record
from ..snippets import snippet
from . import pgguc
from .pginclude import Item, Loader, note

AUTO_CONF = "postgresql.auto.conf"


class PgConfig(Record):
    """One cluster's configuration: every file read, every assignment, the values in force."""

    def __init__(self, source: object, version: int | None = None, cluster: str | None = None,
                 files: list | None = None, items: list[Item] | None = None,
                 data_directory: str | None = None, fatal: bool = False,
                 values: dict[str, float] | None = None, texts: dict[str, str] | None = None,
                 setters: dict[str, Item] | None = None):
        self.source = source  # the main file's Source
        self.version = version
        self.cluster = cluster  # "15/main" for Debian's layout
        self.files = [] if files is None else files  # Sources, in reading order
        self.items = [] if items is None else items
        self.data_directory = data_directory  # as the host sees it (inside --root)
        self.fatal = fatal  # the server would refuse to start with these files
        self.values = {} if values is None else values  # known parameters, base units
        self.texts = {} if texts is None else texts  # every other parameter, as written
        self.setters = {} if setters is None else setters  # the item each value came from

    def value(self, name: str) -> float:
        return self.values[name]

    def origin(self, name: str) -> str:
        item = self.setters.get(name)
        if item is not None:
            return item.where
        version = f" (PostgreSQL {self.version})" if self.version else ""
        return f"server default{version}"

    def bytes(self, name: str) -> int:
        """A memory parameter in bytes, with ``-1`` derived as the server derives it."""
        param = pgguc.PARAMS[name]
        value = self.values[name]
        if name == "wal_buffers":
            value = pgguc.wal_buffers_pages(value, self.values["shared_buffers"])
        elif name == "autovacuum_work_mem" and value == -1:
            value = self.values["maintenance_work_mem"]
        return int(value) * param.unit


_DEBIAN = re.compile(r"/etc/postgresql/(\d+)/([^/]+)/postgresql\.conf$")


def load(host, source, reader=None, overrides: tuple[tuple[str, str], ...] = (),
         config_dir: str | None = None) -> PgConfig:
    """The cluster whose main file is ``source``: its includes, its data directory's
    postgresql.auto.conf, and the values the server would run with. A live server adds its
    command line: ``overrides`` (``-c name=value``, which beat every file) and
    ``config_dir`` (``-D``: the data directory unless a data_directory setting names one;
    without it, the main file's directory, as ``postgres -D`` that directory reads it)."""
    inside = posixpath.normpath(source.inside or str(source.path))
    loader = Loader(host, reader)
    config = PgConfig(source, files=loader.files, items=loader.items)
    # the real path, however the file was named (`check .`, `check etc/postgresql/...`)
    m = _DEBIAN.search(posixpath.abspath(inside))
    if m:
        config.version, config.cluster = int(m.group(1)), f"{m.group(1)}/{m.group(2)}"
    ok = loader.read_file(inside, source)
    here = posixpath.dirname(inside)
    named = [i.value for i in config.items if i.key == "data_directory"]
    named += [v for n, v in overrides if n.lower() == "data_directory"]
    if config_dir and not named:
        here = posixpath.normpath(posixpath.join(here, config_dir))
    data_dir = loader.resolve(named[-1] if named else ".", here)
    if named:
        config.data_directory = posixpath.normpath(posixpath.join(here, named[-1]))
    auto = posixpath.join(config.data_directory or here, AUTO_CONF)
    if data_dir is not None and posixpath.basename(inside) != AUTO_CONF \
            and loader.host.fs.exists(data_dir / AUTO_CONF):
        ok = loader.read_included(data_dir / AUTO_CONF, auto, f"data directory of {source.display}",
                         0) and ok
    if config.version is None and data_dir is not None:
        config.version = _data_dir_version(loader.host.fs, data_dir / "PG_VERSION")
    items = config.items + [Item(n, v, "command line") for n, v in overrides]
    config.fatal = not apply(config, items, pgguc.defaults(config.version)) or not ok
    return config


def _data_dir_version(fs, path: Path) -> int | None:
    try:
        text = fs.read_text(path).strip()
    except OSError:
        return None
    return int(text.split(".")[0]) if re.fullmatch(r"\d+(\.\d+)?", text) else None


def apply(config: PgConfig, items: list[Item], values: dict[str, float]) -> bool:
    """ProcessConfigFileInternal: drop assignments a later one with the very same spelling
    overrides, then apply the rest in order. False when the server would refuse one."""
    last = {item.name: index for index, item in enumerate(items)}
    config.values = values
    ok = True
    if config.version == pgguc.CHECKED_VERSION:  # names differ between major versions
        for item in items:  # the server checks every name, even overridden ones
            if not pgguc.known_name(item.name):
                ok = False
                if item.source is not None:
                    note(item.source, "CONF001", item.line,
                         f'unrecognized configuration parameter "{item.name}" (PostgreSQL '
                         f"{config.version}); the server refuses to start",
                         fix=snippet("remove {name} or correct its spelling (a custom setting "
                                     "needs a prefix: myext.setting)", name=item.name),
                         key=item.name)
    for index, item in enumerate(items):
        if last[item.name] != index:
            continue
        key = item.key
        if key not in pgguc.PARAMS:
            config.texts[key] = item.value
            config.setters[key] = item
            continue
        try:
            values[key] = pgguc.evaluate(key, item.value, values, item.name)
        except pgguc.InvalidValue as exc:
            ok = False
            if item.source is not None:
                note(item.source, "CONF001", item.line, f"{exc}; the server refuses to start",
                     fix=_value_fix(key), key=item.name)
            continue
        config.setters[key] = item
    return ok


def _value_fix(name: str) -> str:
    param = pgguc.PARAMS[name]
    if param.unit:
        return (f"write {name} as a whole number with a unit the server accepts (B, kB, MB, "
                f"GB, TB: case matters), e.g. {name} = '128MB'")
    return f"write {name} as a number within {param.display(param.min)} .. " \
           f"{param.display(param.max)}"
