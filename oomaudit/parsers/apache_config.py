"""What httpd holds once it has read its configuration: the directives kept for its
second pass (``-D DUMP_CONFIG``), the modules loaded (``-D DUMP_MODULES``), the files read
in order (``-D DUMP_INCLUDES``), and where it stopped if it would not start.

``oomaudit.parsers.apache_loader`` fills a :class:`Config`; the rules read it.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..reading import Source
from ..record import Record

# Modules compiled into Debian's apache2 binary (apache2 -l): symbol -> source file name.
STATIC_MODULES = {"core_module": "core.c", "so_module": "mod_so.c",
                  "watchdog_module": "mod_watchdog.c", "http_module": "http_core.c",
                  "log_config_module": "mod_log_config.c", "logio_module": "mod_logio.c",
                  "version_module": "mod_version.c", "unixd_module": "mod_unixd.c"}
_STATIC_NAMES = {*STATIC_MODULES, *STATIC_MODULES.values()}  # what <IfModule> finds built in
# Modules whose source file is not mod_NAME.c (measured with <IfModule> on each module).
SOURCE_NAMES = {"mpm_prefork_module": "prefork.c", "mpm_worker_module": "worker.c",
                "mpm_event_module": "event.c", "ldap_module": "util_ldap.c"}


def source_name(symbol: str) -> str:
    """The name ``<IfModule mod_foo.c>`` tests for a module loaded as ``symbol``."""
    if symbol in STATIC_MODULES:
        return STATIC_MODULES[symbol]
    stem = symbol[:-len("_module")] if symbol.endswith("_module") else symbol
    return SOURCE_NAMES.get(symbol, f"mod_{stem}.c")


class Directive(NamedTuple):
    """A directive httpd keeps for its second pass (everything not executed on read)."""

    name: str
    args: str  # after ${VAR} substitution, as the directive's handler gets them
    source: Source
    line: int
    sections: tuple[str, ...]  # enclosing non-conditional sections, e.g. ("<VirtualHost",)

    @property
    def path(self) -> str:
        return self.source.display


class Module(NamedTuple):
    """A module ``<IfModule>`` finds loaded: the first ``LoadModule`` of its symbol (``path`` as
    written there), or one the loader was told to ``assume`` (``where`` is "assumed")."""

    symbol: str
    path: str
    where: str  # file:line of the LoadModule


class Problem(NamedTuple):
    """The error httpd stops reading at (``Config.fatal``), at the line httpd names: CONF001
    for a structural error, CONF002 for a missing, cyclic or too deep include."""

    rule: str  # CONF001 or CONF002
    source: Source
    line: int | None
    message: str


class Config(Record):
    """One httpd configuration: what a server started with the top file would read."""

    def __init__(self, top: Path, server_root: str, directives: list[Directive] | None = None,
                 modules: dict[str, Module] | None = None, files: list[Path] | None = None,
                 sources: list[Source] | None = None,
                 includes: list[tuple[int, str]] | None = None, tested: set[str] | None = None,
                 undefined: list[tuple[str, str]] | None = None,
                 unresolved: list[tuple[str, str]] | None = None,
                 fatal: Problem | None = None):
        self.top = top
        self.server_root = server_root
        self.directives = [] if directives is None else directives
        self.modules = {} if modules is None else modules  # LoadModule'd, in order
        self.files = [] if files is None else files
        self.sources = [] if sources is None else sources  # the files read, in order
        self.includes = [] if includes is None else includes  # DUMP_INCLUDES lines
        self.tested = set() if tested is None else tested  # module names <IfModule> asked about
        self.undefined = [] if undefined is None else undefined  # (${NAME}, file:line)
        self.unresolved = [] if unresolved is None else unresolved  # (path, file:line)
        self.fatal = fatal  # where httpd stops reading: it would not start

    def loaded(self, name: str) -> bool:
        """``<IfModule name>``: a module symbol or source file name, case-sensitive."""
        return name in self.modules or name in _STATIC_NAMES or any(
            source_name(m) == name for m in self.modules)
