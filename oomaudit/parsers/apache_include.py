"""The files an ``Include`` or ``IncludeOptional`` line names, in the order httpd reads
them (server/config.c ``ap_process_fnmatch_configs``, ``ap_dir_fnmatch``): a wildcard
may stand in any component, matches are sorted byte-wise and never start with a dot; a
directory is read whole, recursively, dot files included.

Whether a file is read, and what a cycle or too deep a nesting does, is the loader's
(``oomaudit.parsers.apache_loader``): this module only lists, lazily, so that what it
notes (``unresolved``) comes in the order the files are read.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from ..confine import Tree
from ..record import Record

MAX_INCLUDE_DEPTH = 128  # AP_MAX_INCLUDE_DEPTH


class Missing(Exception):
    """What an Include needs is not there (httpd's message): httpd refuses to start."""


class IncludeFiles(Record):
    """One Include line's files. ``locate(path)`` maps a path as the server sees it to a
    real one, or None where it cannot be known (a config repository without that
    directory): such paths go to ``unresolved`` with ``where`` (the line's file:line), as
    does, outside ``strict`` mode (a repository), whatever httpd would stop at."""

    def __init__(self, fs: Tree, locate: Callable[[str], Path | None], strict: bool,
                 unresolved: list[tuple[str, str]], where: str):
        self.fs = fs  # every listing and test of a path goes through the host's Tree
        self.locate = locate
        self.strict = strict
        self.unresolved = unresolved
        self.where = where

    def expand(self, inside: str, optional: bool) -> Iterator[tuple[Path, str]]:
        """(real path, the path as httpd shows it) of each file ``inside`` (an absolute
        server path) names; raises :class:`Missing` where httpd would not start."""
        if not is_glob(inside):
            real = self.locate(inside)
            if real is None:
                self.unresolved.append((inside, self.where))
                return
            fs = self.fs
            if fs.is_dir(real):
                yield from directory(fs, real)
            elif fs.exists(real) or not optional:
                if not fs.exists(real) and not self.strict:
                    self.unresolved.append((inside, self.where))
                    return
                if not fs.exists(real):
                    raise Missing(f"Could not open configuration file {inside}: "
                                  "No such file or directory")
                yield real, inside
            return
        parts = inside.strip("/").split("/")
        literal = next(i for i, p in enumerate(parts) if is_glob(p))
        base = "/" + "/".join(parts[:literal])
        real = self.locate(base)
        if real is None:
            self.unresolved.append((inside, self.where))
            return
        yield from self._match(real, base, parts[literal:], optional)

    def _match(self, real: Path, shown: str, rest: list[str],
               optional: bool) -> Iterator[tuple[Path, str]]:
        try:
            names = self.fs.listdir(real)
        except OSError:
            if optional:
                return
            if not self.strict:
                self.unresolved.append(("/".join([shown, *rest]), self.where))
                return
            raise Missing(f"Include/IncludeOptional: Could not open directory "
                          f"{shown}: No such file or directory") from None
        pattern, rest = rest[0], rest[1:]
        wild = is_glob(pattern)
        matched = [n for n in names if (fnmatch.fnmatchcase(n, pattern) and
                                        not (n.startswith(".") and not pattern.startswith(".")))
                   ] if wild else [n for n in names if n == pattern]
        if rest:
            matched = [n for n in matched if self.fs.is_dir(real / n)]
        if not matched and wild and not optional:
            if not self.strict:
                self.unresolved.append((f"{shown}/{pattern}", self.where))
                return
            raise Missing(f"No matches for the wildcard '{pattern}' in '{shown}', failing")
        for name in matched:
            if rest:
                yield from self._match(real / name, f"{shown}/{name}", rest, optional)
            elif self.fs.is_dir(real / name):
                yield from directory(self.fs, real / name)
            else:
                yield real / name, f"{shown}/{name}"


def directory(fs: Tree, real: Path, depth: int = 0) -> Iterator[tuple[Path, str]]:
    """Every file below ``real``, sorted byte-wise at each level; unreadable folders and
    nesting deeper than httpd's limit give nothing."""
    if depth > MAX_INCLUDE_DEPTH:
        return
    try:
        entries = [real / name for name in fs.listdir(real)]
    except OSError:
        return
    for entry in entries:
        if fs.is_dir(entry):
            yield from directory(fs, entry, depth + 1)
        else:
            yield entry, str(entry)


def is_glob(path: str) -> bool:
    """``apr_fnmatch_test``: ``*``, ``?`` or a ``[`` closed by a later ``]``."""
    return "*" in path or "?" in path or bool(re.search(r"\[.*\]", path))
