"""MySQL servers assembled: each one's option files as loaded, read as the server in
effect (flavour and version) reads them, with the values that result. Every rule and the
ledger ask ``servers(host)``, built once per run.
"""
from __future__ import annotations

from pathlib import Path

from oomaudit.host import Measured
from oomaudit.model import Finding, Severity
from oomaudit.parsers import mycnf
from oomaudit.parsers.mysql_values import Flavour, Setting, settings
from oomaudit.record import Record
from oomaudit.snippets import snippet

from .constants import PLUGIN
from .flavour import flavour_of
from .optionfiles import load, server_files


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
            _server(host, tops, procs) for tops, procs in server_files(host)]
    return host.cache["mysql.servers"]


def _server(host, tops: list[Path], procs: list) -> Server:
    flavour = flavour_of(host, tops, procs)
    config = load(host, flavour, tops)
    effective, occurrences = settings(config.options, flavour)
    _removed_options(host, config.options)
    sizes = [p.rss for p in procs if p.rss is not None]
    if sizes:  # what `oomaudit facts` writes: the server's processes, by the file they read
        host.measured[(PLUGIN, str(tops[0]))] = Measured(
            PLUGIN, str(tops[0]), len(procs), sum(sizes), max(sizes), None, "",
            f"live: {procs[0].name} pid {procs[0].pid}")
    return Server(config, flavour, effective, occurrences, procs)


def _removed_options(host, options) -> None:
    """``set-variable = name=value``, removed in MySQL 5.5: every server since (MariaDB's
    too) stops at it with "unknown variable" (CONF001); ``loose-`` makes it a warning, and
    the setting is lost."""
    for option in options:
        name = option.name.lower().replace("_", "-")
        loose = name.startswith("loose-")
        if name.removeprefix("loose-") != "set-variable":
            continue
        variable, _, value = (option.value or "").partition("=")
        written = f"{option.name}={option.value}" if option.value is not None else option.name
        what = (f"mysqld ignores this line (a warning: unknown variable '{written}'), so "
                f"{variable.strip() or 'the variable'} keeps its default") if loose else \
            f"mysqld refuses to start: unknown variable '{written}'"
        host.diagnostics.append(Finding(
            "CONF001", f"{what}; set-variable was removed in MySQL 5.5", option.path,
            option.line, severity=Severity.LOW if loose else None,
            fix=snippet("{name} = {value}", name=variable.strip(), value=value.strip())
            if variable.strip() else "remove the line",
            key=f"[{option.group}] set-variable {variable.strip()}".rstrip()))
