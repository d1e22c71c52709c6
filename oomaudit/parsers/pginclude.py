"""The files one PostgreSQL cluster reads: its includes followed as the server follows them.

Measured against ``postgres -C NAME -D DIR`` (tests/postgresql/test_pg_oracle.py):

* ``include``, ``include_if_exists`` and ``include_dir`` (names case-insensitive) are read
  where they stand, relative to the including file. A directory gives its ``*.conf`` files
  (no dot-files, names of at least 6 bytes, byte order, subdirectories skipped); a file
  that fails stops the rest of that directory. Depth beyond 10 and a file including
  itself are errors; a missing ``include`` is an error, a missing ``include_if_exists``
  is skipped.

The reader never raises: syntax errors become CONF001 at their line, include problems
CONF002 at the include line (files read through the host, so ``--root`` stays inside the
tree and unreadable files are CONF003).
"""
from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import NamedTuple

from ..host import FILES
from ..includes import IncludeBudget
from ..model import Severity
from ..snippets import snippet
from . import pgguc
from .pgconf import parse_text

MAX_DEPTH = 10  # CONF_FILE_MAX_DEPTH


def note(source, rule: str, line: int, message: str, fix: str = "",
         severity: Severity | None = None, key: str = "") -> None:
    """A problem on ``source``, once: a conf.d file is read for every cluster including it.
    ``key``: the parameter or include it is about (see ``Finding.key``)."""
    source.problem(rule, line, message, fix, key=key, severity=severity)


class Item(NamedTuple):
    """One assignment as the server lists it: canonical name, text value, where."""

    name: str  # as written
    value: str
    where: str  # "file:line", or "command line"
    source: object = None  # the oomaudit Source, for findings; None for overrides
    line: int = 0

    @property
    def key(self) -> str:
        lowered = self.name.lower()
        return pgguc.OLD_NAMES.get(lowered, lowered)


class Loader:
    """Follows one cluster's includes through the host (``host.resolve``/``host.read``),
    recording problems on the including file. ``files`` gets every Source read, in
    reading order, and ``items`` every assignment they make."""

    def __init__(self, host, reader=None):
        self.host, self.reader = host, reader
        self.files: list = []
        self.items: list[Item] = []
        self.budget = IncludeBudget()

    def read_file(self, inside: str, source=None, depth: int = 0) -> bool:
        """Read one file already resolved and opened (``source``) and what it includes."""
        self.files.append(source)
        statements, problems = parse_text(source.text)
        ok = True
        for problem in problems:
            note(source, "CONF001", problem.line, problem.message(source.display),
                 fix="quote the value (e.g. shared_buffers = '1.5GB') or write it "
                         "as NAME = VALUE on one line; the server refuses to start",
                 key=source.line_text(problem.line))  # no parameter: the line
            ok = False
        for st in statements:
            kind = st.name.lower()
            if kind == "include_dir":
                ok = self._directory(st.value, inside, source, st.line, depth + 1) and ok
            elif kind in ("include", "include_if_exists"):
                ok = self._include(st.value, kind == "include", inside, source, st.line,
                                   depth + 1) and ok
            else:
                where = f"{source.display}:{st.line}"
                self.items.append(Item(st.name, st.value, where, source, st.line))
        return ok

    def _fail(self, source, line: int, message: str, key: str) -> bool:
        note(source, "CONF002", line, message,
             fix="point the include at an existing file or directory, use "
                 "include_if_exists for an optional file, or remove the line", key=key)
        return False

    def _include(self, name: str, strict: bool, calling: str, source, line: int,
                 depth: int) -> bool:
        key = f"include {name}"
        if not name.strip(" \t\r\n"):
            return self._fail(source, line, f'empty configuration file name: "{name}"', key)
        if depth > MAX_DEPTH:
            return self._fail(source, line, f'could not open configuration file "{name}": '
                                            "maximum nesting depth exceeded", key)
        inside = posixpath.normpath(posixpath.join(posixpath.dirname(calling), name))
        if inside == calling:
            return self._fail(source, line, f'configuration file recursion in "{calling}"',
                              key)
        real = self.resolve(name, posixpath.dirname(calling))
        if real is None:
            return True  # an absolute path in a config repository names nothing here
        if not self.host.fs.exists(real):
            if strict:
                return self._fail(source, line, f'could not open configuration file '
                                                f'"{inside}": No such file or directory', key)
            return True  # include_if_exists: "skipping missing configuration file"
        return self.read_included(real, inside, f"{source.display}:{line}", depth,
                                  (source, line, key))

    def read_included(self, real: Path, inside: str, wanted_by: str, depth: int,
                      includer: tuple | None = None) -> bool:
        """``includer`` (source, line, key) of an include line: it is charged to the
        configuration's include budget, and past it, named there (CONF002)."""
        if includer and self.budget.spent:
            return self._over(*includer)
        included = self.host.read(real, self.reader, wanted_by)
        if included is None:  # unreadable or not a file: host noted why
            return False
        if includer and self.budget.admit(len(included.text)):
            return self._over(*includer)
        return self.read_file(inside, included, depth)

    def _over(self, source, line: int, key: str) -> bool:
        """Past the include budget: named at the include; the server would read on, and
        so does the rest of this file (True: no reason the server refuses to start)."""
        note(source, "CONF002", line, self.budget.spent,
             fix="fewer files through includes (each is read once per include)", key=key)
        return True

    def _directory(self, name: str, calling: str, source, line: int, depth: int) -> bool:
        key = f"include_dir {name}"
        if not name.strip(" \t\r\n"):
            return self._fail(source, line, f'empty configuration directory name: "{name}"',
                              key)
        inside = posixpath.normpath(posixpath.join(posixpath.dirname(calling), name))
        real = self.resolve(name, posixpath.dirname(calling))
        if real is None:
            return True
        try:
            names = self.host.fs.listdir(real)
        except OSError as exc:
            message = f'could not open configuration directory "{inside}": {exc.strerror}'
            if not self.host.fs.exists(real) and self.host.mode == FILES:
                # git keeps no empty directory: a stock conf.d is often absent from a repo
                note(source, "CONF002", line, message + " (absent from this repository; git "
                     "does not keep empty directories, but the server refuses to start "
                     "without it)", severity=Severity.LOW,
                     fix=snippet("make sure {path} exists on the host (keep a .gitkeep in it)",
                                 path=inside),
                     key=key)
                return True
            return self._fail(source, line, message, key)
        for entry in names:
            if len(os.fsencode(entry)) < 6 or entry.startswith(".") or \
                    not entry.endswith(".conf"):
                continue
            child = posixpath.join(inside, entry)
            path = real / entry
            try:
                is_dir = stat.S_ISDIR(self.host.fs.stat(path).st_mode)
            except OSError as exc:
                return self._fail(source, line, f'could not stat file "{child}": '
                                                f"{exc.strerror}", key)
            if is_dir:
                continue
            if depth > MAX_DEPTH:
                return self._fail(source, line, f'could not open configuration file '
                                                f'"{child}": maximum nesting depth exceeded',
                                  key)
            if child == calling:
                return self._fail(source, line, f'configuration file recursion in "{calling}"',
                                  key)
            if not self.read_included(path, child, f"{source.display}:{line}", depth,
                                      (source, line, key)):
                return False
        return True

    def resolve(self, name: str, relative_to: str) -> Path | None:
        """Where a path the config names is: relative to the naming file's directory;
        None when it names nothing on this host (absolute, in a config repository)."""
        try:
            return self.host.resolve(name, relative_to or ".")
        except OSError:  # a symlink loop inside --root
            return None
