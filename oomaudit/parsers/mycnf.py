"""MySQL/MariaDB option files (my.cnf) read the way mysys' my_default.c reads them.

Two steps, as in the server. ``parse_file`` turns one file into its lines of
meaning (group headers, options, ``!include``/``!includedir``) and records the
errors that make every MySQL program abort (an option before any group, a ``[``
without ``]``, an include without a path) as CONF001 on that file. ``Loader``
then walks a top-level file with its includes, keeping only the options of the
groups the server reads, in the order it reads them.

The text is handled as bytes (latin-1 here), because that is what the C code
sees: lines end at ``\\n`` only, fgets hands over at most 4094 bytes at a time,
and whitespace is latin-1's, which includes 0xA0 (the second byte of a UTF-8
no-break space).

Over 300 lines, and one concern: my_default.c's reading of option files. The loader
walks the very items the parser makes, in the parser's latin-1 line model (``shown``),
and what is an error where (an abort in a top-level file, only the end of an included
one) is decided between the two; apart, neither says how the server reads a file.
"""
from __future__ import annotations

import posixpath
import re
import stat
from pathlib import Path
from typing import NamedTuple

from ..includes import IncludeBudget
from ..reading import Source
from ..record import Record

WHITESPACE = " \t\n\v\f\r\xa0"  # my_isspace() for latin-1
FGETS_CHUNK = 4094  # mysql_file_fgets(buff, sizeof(buff) - 1) with a 4096-byte buffer
MAX_INCLUDE_DEPTH = 10  # the server skips '!' directives at this depth, with a warning
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "s": " ", '"': '"', "'": "'",
           "\\": "\\"}


class Item(NamedTuple):
    """One meaningful line: ``kind`` is group, option, include or includedir. For an option
    ``text`` is what my_print_defaults prints (``--name=value``); ``name``/``value`` split
    it (value None for a bare flag). For the others ``text`` is the group name or path."""

    kind: str
    line: int
    text: str
    name: str = ""
    value: str | None = None


class OptionFile(Record):
    """One file as parsed; ``fatal`` is the line at which every MySQL program aborts."""

    def __init__(self, source: Source, items: list[Item] | None = None,
                 fatal: int | None = None):
        self.source = source
        self.items = [] if items is None else items
        self.fatal = fatal

    @property
    def path(self) -> Path:
        return self.source.path


def raw(source: Source) -> str:
    """The file's bytes as latin-1 text, one character per byte (valid UTF-8 round-trips)."""
    return source.text.encode("utf-8", "surrogateescape").decode("latin-1")


def shown(text: str) -> str:
    """Latin-1 text back to what a user wrote (UTF-8), for messages and paths."""
    if text.isascii():  # nearly every name and value: the same characters
        return text
    return text.encode("latin-1").decode("utf-8", "replace")


def records(text: str):
    """(line number, record) as fgets delivers them: up to and including ``\\n``, at most
    FGETS_CHUNK bytes; each record counts as a line, as in the server's messages."""
    number, pos = 0, 0
    while pos < len(text):
        end = text.find("\n", pos, pos + FGETS_CHUNK)
        stop = end + 1 if end >= 0 else min(pos + FGETS_CHUNK, len(text))
        number += 1
        yield number, text[pos:stop]
        pos = stop


def parse_file(source: Source) -> OptionFile:
    """Parse one option file; problems that abort the server become CONF001 on the source."""
    result = OptionFile(source)
    grouped = False
    for number, record in records(raw(source)):
        record = record.split("\0", 1)[0]  # C strings end at NUL
        body = record.lstrip(WHITESPACE)
        if not body or body[0] in "#;":
            continue
        if body[0] == "!":
            item, error = _directive(body, number)
            if error:
                return _abort(result, number, error)
            if item:
                result.items.append(item)
            continue
        if body[0] == "[":
            close = body.find("]", 1)
            if close < 0:
                return _abort(result, number, "Wrong group definition in config file")
            result.items.append(Item("group", number, body[1:close].rstrip(WHITESPACE)))
            grouped = True
            continue
        if not grouped:
            return _abort(result, number, "Found option without preceding group in config file")
        result.items.append(_option(body, number, body != record))
    return result


def _abort(result: OptionFile, line: int, message: str) -> OptionFile:
    result.fatal = line
    result.source.problem(
        "CONF001", line, f"{message}: mysqld stops reading this file here; when it is the "
        "top-level option file, mysqld and every client abort (\"Fatal error in defaults "
        "handling\")", fix="put options below a [group] header, close the header with ']', "
                           "and give !include/!includedir a path",
        key=result.source.line_text(line))  # no option: the line is the key
    return result


def _directive(body: str, number: int) -> tuple[Item | None, str]:
    """``!include PATH`` / ``!includedir DIR``; any other ``!`` line is ignored, as in the
    server. The server drops the record's last character (meant to be the newline) and the
    whitespace before it, so a last line without newline loses a character of its path."""
    rest = body[1:].lstrip(WHITESPACE)
    for keyword in ("includedir", "include"):
        if rest.startswith(keyword) and rest[len(keyword):len(keyword) + 1] in \
                tuple(WHITESPACE):
            start = len(body) - len(rest) + len(keyword)
            while start < len(body) and body[start] in WHITESPACE:
                start += 1
            end = len(body) - 1
            while end > 0 and body[end - 1] in WHITESPACE:
                end -= 1
            if end <= start:
                return None, f"Wrong '!{keyword}' directive in config file"
            return Item(keyword, number, body[start:end]), ""
    return None, ""


def _option(body: str, number: int, indented: bool) -> Item:
    """An option line as my_default.c cuts it: an unquoted ``#`` ends it, spaces around
    ``=`` go, one pair of matching quotes goes, backslash escapes are decoded."""
    cut = _comment_start(body)
    line = body[:cut] if cut >= 0 else body
    equals = line.find("=")
    if equals < 0:
        name = line.rstrip(WHITESPACE)
        return Item("option", number, f"--{name}", name, None)
    name = line[:equals].rstrip(WHITESPACE)
    if equals == 0 and indented:  # the C code trims back past the name's start and then
        name = line                # copies the whole rest of the line as the name
    value = line[equals + 1:].lstrip(WHITESPACE).rstrip(WHITESPACE)
    if len(value) > 1 and value[0] in "\"'" and value[0] == value[-1]:
        value = value[1:-1]
    value = _unescape(value)
    return Item("option", number, f"--{name}={value}", name, value)


_SPECIAL = re.compile("[#'\"]")  # what _comment_start looks at; the rest passes by


def _comment_start(line: str) -> int:
    """Where an unquoted ``#`` starts a comment, or -1. Before the first quote or ``#``
    nothing changes the state: the walk starts there (at a ``#``, it is the answer)."""
    first = _SPECIAL.search(line)
    if first is None or first.group() == "#":
        return -1 if first is None else first.start()
    quote, escape = "", False
    for i, char in enumerate(line[first.start():], first.start()):
        if char in "'\"" and not escape:
            if not quote:
                quote = char
            elif quote == char:
                quote = ""
        if not quote and char == "#":
            return i
        escape = bool(quote) and not escape and char == "\\"  # escapes only inside quotes
    return -1


_ESCAPE = re.compile(r"\\(.)", re.S)  # a backslash and the character after it


def _unescape(value: str) -> str:
    """Backslash escapes decoded, left to right; an unknown one and a last lone backslash
    stay as written."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: ESCAPES.get(m.group(1), m.group()), value)


class Option(NamedTuple):
    """An option the server receives: name and value as written, and where."""

    name: str
    value: str | None
    text: str
    path: str  # display path of the file
    line: int
    group: str


class ServerConfig(Record):
    """What one mysqld reads: its options in order, the files read, and whether the server
    would abort while reading them (then it does not start at all)."""

    def __init__(self, top: list[Path], options: list[Option] | None = None,
                 files: list[Path] | None = None, aborted: str = ""):
        self.top = top
        self.options = [] if options is None else options
        self.files = [] if files is None else files
        self.aborted = aborted  # the reason, as file:line


class Loader:
    """Reads a server's option files through the host (so ``--root`` resolution, CONF003
    for unreadable files and inline suppressions work), following includes as the server
    does: ``!include`` of a missing file is ignored, ``!includedir`` of a missing directory
    aborts, ``*.cnf`` only in byte order, at most MAX_INCLUDE_DEPTH levels (a cycle is read
    again and again until then: reported once as CONF002).

    ``groups`` are the server's groups (lower case). ``locate(path, includer)`` maps a path
    that the file ``includer`` names to a real path, or None when it cannot be known (a
    relative path depends on mysqld's working directory; ``check`` mode has no filesystem
    of its own). ``state`` is shared
    by every loader of one host, so a file is parsed and a problem reported once.
    """

    def __init__(self, host, reader, groups: set[str], locate, state: dict):
        self.host, self.reader, self.groups, self.locate = host, reader, groups, locate
        self.parsed = state.setdefault("files", {})
        self.reported = state.setdefault("reported", set())
        self.loops = state.setdefault("loops", set())

    def load(self, tops: list[Path]) -> ServerConfig:
        """An error in a top-level file aborts the server; in an included file it only ends
        that file (my_default.c ignores what the recursive read returns)."""
        config = ServerConfig(list(tops))
        self.budget = IncludeBudget()
        for top in tops:
            if not self._read(top, config, 0, (), ""):
                break
        return config

    def option_file(self, real: Path, wanted_by: str = "") -> OptionFile | None:
        if real not in self.parsed:
            source = self.host.read(real, self.reader, wanted_by)
            self.parsed[real] = None if source is None else (
                self.host.document_of(source, getattr(self.reader, "name", "")) or
                parse_file(source))
        return self.parsed[real]

    def _read(self, real: Path, config: ServerConfig, depth: int, chain: tuple,
              wanted_by: str) -> bool:
        """Read one file into ``config``; False when reading stopped at an error."""
        if _world_writable(self.host.fs, real):
            source = self.host.read(real, self.reader, wanted_by)
            if source is not None:
                self._problem(source, "CONF001", None, "mysqld ignores this file: it is "
                              "world-writable (\"World-writable config file ... is ignored\")",
                              "chmod o-w the file (e.g. 0644)")
            return True
        parsed = self.option_file(real, wanted_by)
        if parsed is None:
            return True
        config.files.append(real)
        chain += (real,)
        group, group_ok = "", False
        for item in parsed.items:
            if item.kind == "group":
                group = item.text
                group_ok = group.encode("latin-1").lower().decode("latin-1") in self.groups
            elif item.kind == "option":
                if group_ok:
                    value = None if item.value is None else shown(item.value)
                    config.options.append(Option(
                        shown(item.name), value, shown(item.text), parsed.source.display,
                        item.line, shown(group)))
            elif not self._include(parsed, item, config, depth, chain):
                return False
        if parsed.fatal is not None:
            if depth == 0:
                config.aborted = f"{parsed.source.display}:{parsed.fatal}"
            return False
        return True

    def _include(self, parsed: OptionFile, item: Item, config: ServerConfig, depth: int,
                 chain: tuple) -> bool:
        path = shown(item.text)
        where = f"{parsed.source.display}:{item.line}"
        target = self.locate(path, parsed.path)
        if depth >= MAX_INCLUDE_DEPTH:
            if target not in chain:  # a loop was reported where it closes
                self._problem(parsed.source, "CONF002", item.line,
                              f"!{item.kind} {path} is skipped: mysqld follows includes "
                              f"only {MAX_INCLUDE_DEPTH} levels deep", "flatten the includes",
                              f"!{item.kind} {path}")
            return True
        if item.kind == "include":
            if target is None:
                return True  # cannot be known here (see locate)
            if not self.host.fs.is_file(target):
                self._problem(parsed.source, "CONF002", item.line,
                              f"!include {path}: no such file; mysqld skips it silently, so "
                              "the settings you put there are not in force",
                              "point !include at the file or remove the line",
                              f"!include {path}")
                return True
            if target in chain:
                self._cycle(parsed, item, path, chain[chain.index(target):])
            if not self._over(parsed, item, path, target, where):
                self._read(target, config, depth + 1, chain, where)
            return True
        if target is None:
            return True
        names = _cnf_files(self.host.fs, target)
        if names is None:
            self._problem(parsed.source, "CONF002", item.line,
                          f"!includedir {path}: directory missing or unreadable (\"Can't read dir "
                          "of ...\"): mysqld stops reading this file here, and aborts when it "
                          "is the top-level option file",
                          "create the directory or remove the !includedir line",
                          f"!includedir {path}")
            if depth == 0:
                config.aborted = where
            return False
        for name in names:
            # the directory's own entry when the path alone says nothing (check mode)
            child = self.locate(posixpath.join(path, name), parsed.path) or target / name
            if child in chain:
                self._cycle(parsed, item, posixpath.join(path, name),
                            chain[chain.index(child):])
            if self._over(parsed, item, path, child, where):
                break
            self._read(child, config, depth + 1, chain, where)
        return True

    def _over(self, parsed: OptionFile, item: Item, path: str, target: Path,
              where: str) -> bool:
        """Charge an included file to the configuration's include budget; past it, a
        CONF002 at the include names the cap and the file is not read."""
        included = self.budget.spent or self.option_file(target, where)
        spent = self.budget.spent or self.budget.admit(
            len(included.source.text) if included is not None else 0)
        if spent:
            self._problem(parsed.source, "CONF002", item.line, f"!{item.kind} {path}: {spent}",
                          "fewer files through includes (each is read once per include)",
                          f"!{item.kind} {path}")
        return bool(spent)

    def _cycle(self, parsed: OptionFile, item: Item, path: str, loop: tuple) -> None:
        """Reported where the loop first closes; going round again is the same loop."""
        if frozenset(loop) in self.loops:
            return
        self.loops.add(frozenset(loop))
        self._problem(parsed.source, "CONF002", item.line,
                      f"!{item.kind} {path} closes an include loop: mysqld reads the loop "
                      f"{MAX_INCLUDE_DEPTH} levels deep, repeating its options",
                      "remove the include that closes the loop", f"!{item.kind} {path}")

    def _problem(self, source: Source, rule: str, line: int | None, message: str,
                 fix: str, key: str = "") -> None:
        """``key``: the include directive it is about (see ``Finding.key``)."""
        seen = (source.path, rule, line, message)
        if seen not in self.reported:
            self.reported.add(seen)
            source.problem(rule, line, message, fix, key=key)


def _cnf_files(fs, folder: Path) -> list[str] | None:
    """Names ending in ``.cnf`` in byte order, or None when the directory cannot be read."""
    try:
        names = fs.listdir(folder)
    except OSError:
        return None
    return [n for n in names if n.endswith(".cnf")]


def _world_writable(fs, real: Path) -> bool:
    try:
        mode = fs.stat(real).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and bool(mode & stat.S_IWOTH)


# -- recognising the format --------------------------------------------------------------

_HEADER = re.compile(
    r"^[ \t]*\[(mysqld|mysqld_safe|mysqld-[0-9.]+|mariadb|mariadbd|mariadb-[0-9.]+|"
    r"client-server|galera|mysql|mysqldump|client|server)[ \t]*\]", re.I | re.M)
_TYPICAL = re.compile(r"^[ \t]*(socket|port|datadir|innodb|key[-_]buffer|max[-_]connections|"
                      r"bind[-_]address|pid[-_]file|character[-_]set|skip[-_])", re.I | re.M)


def looks_like_mycnf(head: str) -> bool:
    """A MySQL option file: a server group header, or [client]/[server] with options
    that only MySQL uses (plain INI files have [server] too)."""
    groups = {m.group(1).lower() for m in _HEADER.finditer(head)}
    return bool(groups - {"client", "server"}) or bool(groups and _TYPICAL.search(head))
