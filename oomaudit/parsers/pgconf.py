"""postgresql.conf read the way the server's guc-file.l reads it (PostgreSQL 15).

Measured against ``postgres -C NAME -D DIR`` (tests/test_pg_oracle.py):

* A flex lexer, longest match first, ties to the earlier rule: ``ID``, ``A.B`` (qualified
  ID), ``'quoted'`` strings (``''`` and backslash escapes, never across a line), unquoted
  strings (a letter, then letters, digits and ``-._:/``), integers (digits or ``0x`` hex,
  then any letters: ``64MB``), reals (``1.5``, ``.``, ``1.5e3``), ``=``, ``#`` comments,
  blanks (space, tab, CR). Anything else is an error token.
* A line is ``NAME [=] VALUE`` then end of line. So unquoted ``1.5GB`` (a real, then an
  ID) and ``128 MB`` are syntax errors while ``'1.5GB'`` is fine; ``1e3`` lexes as
  ``1e`` then ``3``. The server names the bad token (``near token "GB"``) or the end of the
  line, keeps reading (up to 100 errors a file), and then refuses to start.
* ``include``, ``include_if_exists`` and ``include_dir`` (names case-insensitive) are read
  where they stand, relative to the including file. A directory gives its ``*.conf`` files
  (no dot-files, names of at least 6 bytes, byte order, subdirectories skipped); a file
  that fails stops the rest of that directory. Depth beyond 10 and a file including
  itself are errors; a missing ``include`` is an error, a missing ``include_if_exists``
  is skipped.
* ``postgresql.auto.conf`` (ALTER SYSTEM) is read last from the data directory: the
  ``data_directory`` setting of the main file tree, else the main file's own directory.
* Names are case-insensitive. The server marks an earlier assignment dead only when a later
  one is spelled *exactly* alike; every live assignment is applied in order, so a bad value
  spelled differently from the last one still stops the server.

The reader never raises: syntax errors become CONF001 at their line, include problems
CONF002 at the include line (files read through the host, so ``--root`` stays inside the
tree and unreadable files are CONF003).
"""
from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path
from typing import NamedTuple

from ..host import FILES
from ..model import Finding, Severity
from ..record import Record
from ..rootfs import may_exist
from . import pgguc

MAX_DEPTH = 10  # CONF_FILE_MAX_DEPTH
MAX_ERRORS = 100  # syntax errors before the server abandons a file
AUTO_CONF = "postgresql.auto.conf"

ID, QUALIFIED_ID, STRING, UNQUOTED, INTEGER, REAL, EQUALS, EOL, ERROR = (
    "ID", "QUALIFIED_ID", "STRING", "UNQUOTED_STRING", "INTEGER", "REAL", "=", "EOL", "ERROR")
# flex's [A-Za-z_\200-\377]: any non-ASCII character. Written as a negated class: a range up
# to \U0010ffff costs re.compile ~10 ms per pattern, paid on every run's start-up.
_LETTER = r"(?:[A-Za-z_]|[^\x00-\x7f])"
_LETTER_OR_DIGIT = r"(?:[A-Za-z_0-9]|[^\x00-\x7f])"
_ID = f"{_LETTER}{_LETTER_OR_DIGIT}*"
# In flex's rule order: a tie in length goes to the earlier rule.
_RULES = [(kind, re.compile(pattern)) for kind, pattern in (
    (ID, _ID),
    (QUALIFIED_ID, rf"{_ID}\.{_ID}"),
    (STRING, r"'(?:[^'\\\n]|\\[^\n]|'')*'"),
    (UNQUOTED, rf"{_LETTER}(?:{_LETTER_OR_DIGIT}|[-._:/])*"),
    (INTEGER, r"[-+]?(?:0x[0-9a-fA-F]+|[0-9]+)[a-zA-Z]*"),
    (REAL, r"[-+]?[0-9]*\.[0-9]*(?:[Ee][-+]?[0-9]+)?"),
    (EQUALS, r"="),
)]
_VALUE_TOKENS = (ID, STRING, INTEGER, REAL, UNQUOTED)
_BLANKS = re.compile(r"[ \t\r]+")


class Token(NamedTuple):
    """A guc-file.l token: ``kind`` is the flex rule that matched (``ERROR`` for a character no
    rule takes, ``EOL`` for a newline); ``line`` is 1-based."""

    kind: str
    text: str
    line: int


def lex(text: str):
    """Tokens of ``text``, EOL tokens included; the stream simply ends at EOF."""
    pos, line, end = 0, 1, len(text)
    while pos < end:
        ch = text[pos]
        if ch == "\n":
            yield Token(EOL, ch, line)
            line += 1
            pos += 1
            continue
        blanks = _BLANKS.match(text, pos)
        if blanks:
            pos = blanks.end()
            continue
        if ch == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
            continue
        best_kind, best_end = ERROR, pos + 1
        for kind, pattern in _RULES:
            m = pattern.match(text, pos)
            if m and m.end() > best_end or m and best_kind == ERROR and m.end() == best_end:
                best_kind, best_end = kind, m.end()
        yield Token(best_kind, text[pos:best_end], line)
        pos = best_end


class Statement(NamedTuple):
    """``name [=] value`` on ``line``; value de-escaped when it was quoted."""

    name: str
    value: str
    line: int


class SyntaxProblem(NamedTuple):
    """A line the server rejects, at the token it stopped at; reading goes on at the next
    line. ``message`` is the server's own wording."""

    line: int
    near: str | None  # the offending token; None: the end of the line

    def message(self, path: str) -> str:
        where = f'near token "{self.near}"' if self.near is not None else "near end of line"
        return f'syntax error in file "{path}" line {self.line}, {where}'


def parse_text(text: str) -> tuple[list[Statement], list[SyntaxProblem]]:
    """ParseConfigFp's loop: the statements in order and the lines it rejects."""
    statements: list[Statement] = []
    problems: list[SyntaxProblem] = []
    tokens = lex(text)
    for token in tokens:
        if token.kind == EOL:
            continue
        bad = None
        if token.kind not in (ID, QUALIFIED_ID):
            bad = token
        else:
            name = token.text
            value = next(tokens, None)
            if value is not None and value.kind == EQUALS:
                value = next(tokens, None)
            if value is None or value.kind not in _VALUE_TOKENS:
                bad = value
            else:
                after = next(tokens, None)
                if after is None or after.kind == EOL:
                    text_value = unquote(value.text) if value.kind == STRING else value.text
                    statements.append(Statement(name, text_value, value.line))
                    continue
                bad = after
        if bad is None or bad.kind == EOL:
            line = bad.line if bad is not None else token.line
            problems.append(SyntaxProblem(line, None))
        else:
            problems.append(SyntaxProblem(bad.line, bad.text))
        if len(problems) >= MAX_ERRORS:
            break
        while bad is not None and bad.kind != EOL:  # resync at the end of the line
            bad = next(tokens, None)
    return statements, problems


_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def unquote(token: str) -> str:
    """DeescapeQuotedString: ``''`` is a quote, ``\\n``-style and octal escapes, any other
    escaped character stands for itself; a NUL ends the C string."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            octal = re.match(r"[0-7]{1,3}", body[i + 1:])
            if octal:
                out.append(chr(int(octal.group(), 8) & 0xFF))
                i += 1 + len(octal.group())
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == "'" and body[i + 1:i + 2] == "'":
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out).split("\0", 1)[0]


def note(source, rule: str, line: int, message: str, fix: str = "",
         severity: Severity | None = None, key: str = "") -> None:
    """A problem on ``source``, once: a conf.d file is read for every cluster including it.
    ``key``: the parameter or include it is about (see ``Finding.key``)."""
    if any(f.rule == rule and f.line == line and f.message == message
           for f in source.problems):
        return
    source.problems.append(Finding(rule, message, source.display, line, fix=fix,
                                   severity=severity, key=key))


# -- reading a cluster's files -----------------------------------------------------------

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


class Loader:
    """Follows one cluster's includes through the host (``host.resolve``/``host.read``),
    recording problems on the including file."""

    def __init__(self, host, config: PgConfig, reader=None):
        self.host, self.config, self.reader = host, config, reader

    def read_file(self, inside: str, source=None, depth: int = 0) -> bool:
        """Read one file already resolved and opened (``source``) and what it includes."""
        self.config.files.append(source)
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
                self.config.items.append(Item(st.name, st.value, where, source, st.line))
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
        if not may_exist(real):
            if strict:
                return self._fail(source, line, f'could not open configuration file '
                                                f'"{inside}": No such file or directory', key)
            return True  # include_if_exists: "skipping missing configuration file"
        return self.open(real, inside, f"{source.display}:{line}", depth)

    def open(self, real: Path, inside: str, wanted_by: str, depth: int) -> bool:
        included = self.host.read(real, self.reader, wanted_by)
        if included is None:  # unreadable or not a file: host noted why
            return False
        return self.read_file(inside, included, depth)

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
            names = sorted(os.listdir(real), key=os.fsencode)
        except OSError as exc:
            message = f'could not open configuration directory "{inside}": {exc.strerror}'
            if not real.exists() and self.host.mode == FILES:
                # git keeps no empty directory: a stock conf.d is often absent from a repo
                note(source, "CONF002", line, message + " (absent from this repository; git "
                     "does not keep empty directories, but the server refuses to start "
                     "without it)", severity=Severity.LOW,
                     fix=f"make sure {inside} exists on the host (keep a .gitkeep in it)",
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
                is_dir = path.is_dir()
                path.stat()
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
            if not self.open(path, child, f"{source.display}:{line}", depth):
                return False
        return True

    def resolve(self, name: str, relative_to: str) -> Path | None:
        """Where a path the config names is: relative to the naming file's directory;
        None when it names nothing on this host (absolute, in a config repository)."""
        try:
            return self.host.resolve(name, relative_to or ".")
        except OSError:  # a symlink loop inside --root
            return None


def load(host, source, reader=None, overrides: tuple[tuple[str, str], ...] = (),
         config_dir: str | None = None) -> PgConfig:
    """The cluster whose main file is ``source``: its includes, its data directory's
    postgresql.auto.conf, and the values the server would run with. A live server adds its
    command line: ``overrides`` (``-c name=value``, which beat every file) and
    ``config_dir`` (``-D``: the data directory unless a data_directory setting names one;
    without it, the main file's directory, as ``postgres -D`` that directory reads it)."""
    inside = posixpath.normpath(source.inside or str(source.path))
    config = PgConfig(source)
    m = _DEBIAN.search(inside)
    if m:
        config.version, config.cluster = int(m.group(1)), f"{m.group(1)}/{m.group(2)}"
    loader = Loader(host, config, reader)
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
            and may_exist(data_dir / AUTO_CONF):
        ok = loader.open(data_dir / AUTO_CONF, auto, f"data directory of {source.display}",
                         0) and ok
    if config.version is None and data_dir is not None:
        config.version = _data_dir_version(data_dir / "PG_VERSION")
    items = config.items + [Item(n, v, "command line") for n, v in overrides]
    config.fatal = not apply(config, items, pgguc.defaults(config.version)) or not ok
    return config


def _data_dir_version(path: Path) -> int | None:
    try:
        text = path.read_text(errors="replace").strip()
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
                         fix=f"remove {item.name} or correct its spelling "
                             "(a custom setting needs a prefix: myext.setting)", key=item.name)
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


# -- recognising the format --------------------------------------------------------------

_PG_NAMES = frozenset("""
shared_buffers work_mem maintenance_work_mem effective_cache_size wal_buffers
autovacuum_work_mem hash_mem_multiplier temp_buffers listen_addresses hba_file ident_file
data_directory unix_socket_directories max_wal_size min_wal_size checkpoint_completion_target
random_page_cost effective_io_concurrency default_statistics_target log_line_prefix
wal_level max_wal_senders synchronous_commit shared_preload_libraries datestyle
lc_messages lc_monetary default_text_search_config autovacuum_max_workers
dynamic_shared_memory_type cluster_name huge_pages max_worker_processes
max_parallel_workers_per_gather include_dir password_encryption
""".split())
_TEMPLATE_MARKERS = ("{{", "{%", "<%", "${", "%%")


def looks_like_postgresql(head: str) -> bool:
    """True when the first KiBs read as postgresql.conf: every data line is ``NAME [=] VALUE``
    to the server's lexer (the last line may be cut off), at least one name is a
    PostgreSQL parameter that MySQL, sysctl, PHP or web servers do not use, or the file
    carries the stock header ("PostgreSQL configuration file"). Templates are left alone."""
    lowered = head.lower()
    if "postgresql configuration file" not in lowered \
            and not any(name in lowered for name in _PG_NAMES):
        return False  # cheap exit for the many files of a repository that are not ours
    code = "\n".join(line.split("#", 1)[0] for line in head.split("\n"))
    if any(marker in code for marker in _TEMPLATE_MARKERS):
        return False  # a Jinja/ERB template, even with its placeholders quoted
    complete = head if head.endswith("\n") else head[:head.rfind("\n") + 1]
    statements, problems = parse_text(complete)
    if problems:
        return False
    return any(s.name.lower() in _PG_NAMES for s in statements) \
        or "postgresql configuration file" in head.lower()
