"""Which option files make a MySQL server, and the loader that reads them as mysqld does.

On a live host each running mysqld's command line says (``--defaults-file`` and the
like); under ``--root`` the server's default search; in a config repository every given
option file that no other given file includes. Paths an option file names are looked
up here too (``locate``), so that a repository never reads the machine running the check.
"""
from __future__ import annotations

from pathlib import Path

from oomaudit.host import FILES, LIVE
from oomaudit.hosttree import upward
from oomaudit.parsers import mycnf
from oomaudit.parsers.mysql_values import DEFAULT_FLAVOUR, Flavour
from oomaudit.processes import processes

from .constants import DEFAULT_FILES, PLUGIN, READER

SERVER_NAMES = ("mysqld", "mariadbd")


def server_files(host) -> list[tuple[list[Path], list]]:
    """Each server's top-level option files, with the live processes running them."""
    if host.mode == FILES:
        return [([top], []) for top in _repository_tops(host)]
    defaults = [p for p in (host.resolve(f) for f in DEFAULT_FILES) if p and host.fs.is_file(p)]
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
    other in a loop are one server, named after the first of them. Names of one file
    (Debian's my.cnf -> /etc/alternatives/my.cnf -> mariadb.cnf) are one server, named as
    mysqld reads it (my.cnf) when that name is among them."""
    docs = _one_name_each(host, [d.path for d in host.documents(PLUGIN)])
    closures = {doc: set(load(host, DEFAULT_FLAVOUR, [doc]).files) - {doc} for doc in docs}
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


def _one_name_each(host, paths: list[Path]) -> list[Path]:
    """``paths`` with each file once, by what it leads to: the name mysqld searches for
    (``.../etc/mysql/my.cnf``) over a link's target or an alternatives link."""
    def searched(path: Path) -> bool:
        return any(path.as_posix().endswith(name) for name in DEFAULT_FILES)
    chosen: dict[str, Path] = {}
    for path in paths:
        key = host.fs.identity(path)
        if key not in chosen or searched(path) and not searched(chosen[key]):
            chosen[key] = path
    kept = set(chosen.values())
    return [p for p in paths if p in kept]


def _locate(host):
    """Where a path named by an option file is. Relative paths depend on mysqld's working
    directory: / under systemd, unknown in a repository. In a repository laid out like /
    (``hosts/db1/etc/mysql/my.cnf``) an absolute path is looked up from the including
    file's folder upwards (``hosts/db1/etc/mysql/conf.d``), and only found inside the
    folder that holds every file of the check: nothing of the machine running it leaks in."""
    if host.mode != FILES:
        return lambda path, includer: host.resolve(path, "/")
    return lambda path, includer: upward(host, path, includer)


def loader(host, flavour: Flavour) -> mycnf.Loader:
    """A loader keeping the groups ``flavour`` reads; parsed files are shared per run."""
    return mycnf.Loader(host, READER, flavour.groups(), _locate(host),
                        host.cache.setdefault("mycnf", {}))


def load(host, flavour: Flavour, tops: list[Path]) -> mycnf.ServerConfig:
    """``tops`` read as ``flavour``'s server reads them, once per host: finding the tops,
    the flavour and the server itself read a repository's file with the same groups (the
    default flavour's, unless a version group or a package says otherwise)."""
    done = host.cache.setdefault("mycnf.loaded", {})
    key = (tuple(tops), frozenset(flavour.groups()))
    if key not in done:
        done[key] = loader(host, flavour).load(tops)
    return done[key]
