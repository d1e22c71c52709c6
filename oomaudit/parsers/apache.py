"""Apache httpd configuration read the way httpd 2.4 reads it (server/config.c, util.c).

Two steps, as in the server. ``parse_file`` turns one file into logical lines, as
``ap_cfg_getline`` delivers them: a backslash right before the newline joins the next
line (no space added; a continued last line counts one line more), leading and trailing
whitespace goes. ``Loader`` then builds the configuration from a top-level file the
way ``ap_build_config`` does: ``${VAR}`` is replaced on each line before its words are
split, the directives httpd executes while reading (``Include``, ``IncludeOptional``,
``<IfModule>``, ``<IfDefine>``, ``Define``, ``LoadModule``, ``ServerRoot``...) run in
file order, the bodies of false sections are skipped as ``ap_soak_end_container``
skips them (only section nesting is checked), and every structural error stops the
read at the line httpd names (CONF001), missing and cyclic includes are CONF002.

What httpd would do with the remaining directives is the rules' business; the MPM
limits are read in ``oomaudit.parsers.apache_mpm``.
"""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from ..reading import Source
from ..record import Record

SPACE = " \t\n\v\f\r"  # C isspace()
MAX_INCLUDE_DEPTH = 128  # AP_MAX_INCLUDE_DEPTH
# Modules compiled into Debian's apache2 binary (apache2 -l): symbol -> source file name.
STATIC_MODULES = {"core_module": "core.c", "so_module": "mod_so.c",
                  "watchdog_module": "mod_watchdog.c", "http_module": "http_core.c",
                  "log_config_module": "mod_log_config.c", "logio_module": "mod_logio.c",
                  "version_module": "mod_version.c", "unixd_module": "mod_unixd.c"}
# Modules whose source file is not mod_NAME.c (measured with <IfModule> on each module).
SOURCE_NAMES = {"mpm_prefork_module": "prefork.c", "mpm_worker_module": "worker.c",
                "mpm_event_module": "event.c", "ldap_module": "util_ldap.c"}
HTTPD_VERSION = (2, 4, 62)  # for <IfVersion> when the installed version is unknown
CANONICAL = {"<ifmodule": "<IfModule", "<ifdefine": "<IfDefine", "<iffile": "<IfFile",
             "<ifversion": "<IfVersion", "<ifdirective": "<IfDirective",
             "<ifsection": "<IfSection", "include": "Include",
             "includeoptional": "IncludeOptional", "define": "Define", "undefine": "UnDefine",
             "loadmodule": "LoadModule", "serverroot": "ServerRoot", "loadfile": "LoadFile"}


def source_name(symbol: str) -> str:
    """The name ``<IfModule mod_foo.c>`` tests for a module loaded as ``symbol``."""
    if symbol in STATIC_MODULES:
        return STATIC_MODULES[symbol]
    stem = symbol[:-len("_module")] if symbol.endswith("_module") else symbol
    return SOURCE_NAMES.get(symbol, f"mod_{stem}.c")


# -- one file ----------------------------------------------------------------------------

class Line(NamedTuple):
    """One logical line as ``ap_cfg_getline`` delivers it: continuations joined, C whitespace
    trimmed at both ends."""

    number: int  # the last physical line of a continued line, as httpd counts it
    text: str


class ConfigFile(Record):
    """One file as the reader parses it: its logical lines, not yet evaluated. What they mean
    depends on what was read before them (Define, LoadModule), so ``Loader`` does that."""

    def __init__(self, source: Source, lines: list[Line]):
        self.source = source
        self.lines = lines


def logical_lines(text: str) -> list[Line]:
    r"""``ap_varbuf_cfg_getline``: a line ending in ``\`` + newline (``\r\n`` too) continues
    on the next one with the backslash removed; the result is trimmed of C whitespace.
    A file that ends right after a continuation still counts one more (empty) read."""
    lines: list[Line] = []
    physical = text.split("\n")
    ends_with_newline = text.endswith("\n")
    if ends_with_newline:
        physical.pop()
    number, pending = 0, None
    for index, raw in enumerate(physical):
        number += 1
        has_newline = index < len(physical) - 1 or ends_with_newline
        piece = raw[:-1] if has_newline and raw.endswith("\r") else raw
        joined = (pending or "") + piece
        if has_newline and piece.endswith("\\"):
            pending = joined[:-1]
            continue
        if not has_newline:
            joined = (pending or "") + raw
        pending = None
        lines.append(Line(number, joined.strip(SPACE)))
    if pending is not None:  # EOF after a continuation: getstr was called once more
        lines.append(Line(number + 1, pending.strip(SPACE)))
    return lines


def parse_file(source: Source) -> ConfigFile:
    """The reader's parse: logical lines only. What they mean depends on what was read
    before them (Define, LoadModule), so evaluation happens in ``Loader``."""
    return ConfigFile(source, logical_lines(source.text))


def getword(line: str) -> tuple[str, str]:
    """``ap_getword_conf``: the next word (quotes removed, ``\\"`` and ``\\\\`` unescaped)
    and the rest of the line with leading whitespace skipped."""
    pos = 0
    while pos < len(line) and line[pos] in SPACE:
        pos += 1
    if pos == len(line):
        return "", ""
    quote = line[pos]
    if quote in "\"'":
        end = pos + 1
        while end < len(line) and line[end] != quote:
            end += 2 if line[end] == "\\" and end + 1 < len(line) and \
                line[end + 1] in (quote, "\\") else 1
        word = _unescape(line[pos + 1:end], quote)
        if end < len(line):
            end += 1
    else:
        end = pos
        while end < len(line) and line[end] not in SPACE:
            end += 1
        word = _unescape(line[pos:end], "")
    while end < len(line) and line[end] in SPACE:
        end += 1
    return word, line[end:]


def _unescape(text: str, quote: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and (text[i + 1] == "\\" or
                                                      (quote and text[i + 1] == quote)):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


_VAR = re.compile(r"\$\{([^}]*)\}")


def resolve_env(line: str, lookup: Callable[[str], str | None],
                undefined: list[str]) -> str:
    """``ap_resolve_env``: each ``${NAME}`` becomes its Define'd value or environment
    variable; an unknown one stays as written (httpd warns, AH00111). Values are not
    scanned again."""
    if "$" not in line:
        return line

    def substitute(m: re.Match) -> str:
        value = lookup(m.group(1))
        if value is None:
            undefined.append(m.group(1))
            return m.group(0)
        return value
    return _VAR.sub(substitute, line)


# -- the whole configuration -------------------------------------------------------------

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
    written there), or one the ``Loader`` was told to ``assume`` (``where`` is "assumed")."""

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
        symbols = {**STATIC_MODULES, **{m: source_name(m) for m in self.modules}}
        return name in symbols or name in symbols.values()


class Stop(Exception):
    """httpd stops reading here: the error has been recorded."""


class Frame(Record):
    """The read position in one file. Section bodies (``_body``, ``_soak``) take their lines
    from the same frame, so that reading goes on after the section's end tag."""

    def __init__(self, file: ConfigFile, pos: int = 0):
        self.file = file
        self.pos = pos

    def next(self) -> Line | None:
        if self.pos >= len(self.file.lines):
            return None
        self.pos += 1
        return self.file.lines[self.pos - 1]


class Loader:
    """Builds a :class:`Config` from a top-level file, resolving paths as httpd would.

    ``locate(path)`` maps a path as the server sees it (absolute) to a real path, or None
    where it cannot be known (a config repository without that directory).
    ``read(real, wanted_by)`` returns the parsed file or None (the host noted why).
    ``environ`` is the server's environment (Debian's envvars), ``defines`` its ``-D``s;
    ``assume`` names modules to treat as loaded (the MPM of a lone fragment).
    """

    def __init__(self, read: Callable[[Path, str], ConfigFile | None],
                 locate: Callable[[str], Path | None], environ: dict[str, str] | None = None,
                 defines: tuple[str, ...] = (), assume: tuple[str, ...] = (),
                 strict: bool = True, real_root: Path | None = None):
        self.read, self._locate = read, locate
        self.real_root = real_root
        self.environ = dict(environ or {})
        self.start_defines = defines
        self.assume = assume
        self.strict = strict  # False in a repository: a missing include is not an error

    def load(self, top: Path, server_root: str) -> Config:
        self.config = Config(top, server_root)
        self.defines: set[str] = set(self.start_defines)
        self.variables: dict[str, str] = {}
        self.stack: list[Path] = []
        self.last_include = 0
        for symbol in self.assume:
            self.config.modules[symbol] = Module(symbol, "", "assumed")
        try:
            self._file(top, "", top_level=True)
        except Stop:
            pass
        return self.config

    # -- files ---------------------------------------------------------------------------

    def _file(self, real: Path, wanted_by: str, top_level: bool = False) -> None:
        parsed = self.read(real, wanted_by)
        if parsed is None:  # unreadable (the host noted it, CONF003): read on without it
            return
        self.config.files.append(real)
        self.config.sources.append(parsed.source)
        self.config.includes.append((0 if top_level else self.last_include, str(real)))
        self.stack.append(_identity(real))
        try:
            frame = Frame(parsed)
            opened: list[tuple[str, Line]] = []
            while True:
                line = frame.next()
                if line is None:
                    break
                self._line(frame, line, opened, ())
            if opened:
                name, line = opened[0]
                self._fail(parsed.source, line.number, "".join(
                    f"{parsed.source.display}:{ln.number}: {n}> was not closed."
                    for n, ln in reversed(opened)))
        finally:
            self.stack.pop()

    def _fail(self, source: Source, line: int | None, message: str, rule: str = "CONF001"):
        self.config.fatal = Problem(rule, source, line, message)
        raise Stop()

    # -- lines ---------------------------------------------------------------------------

    def _lookup(self, name: str) -> str | None:
        return self.variables.get(name, self.environ.get(name))

    def _line(self, frame: Frame, line: Line, opened: list, outer: tuple[str, ...]) -> None:
        """``ap_build_config_sub`` for one line; ``opened`` holds this level's sections."""
        text = line.text
        if not text or text[0] == "#":
            return
        source = frame.file.source
        undefined: list[str] = []
        text = resolve_env(text, self._lookup, undefined)
        for name in undefined:
            self.config.undefined.append((name, f"{source.display}:{line.number}"))
        name, args = getword(text)
        if not name:
            return
        if name[1:2] != "/":
            if name.endswith(">"):
                name = name[:-1]
            if name.startswith("<") and not args:
                args = ">"
        lower = name.lower()
        if lower in CANONICAL:
            self._execute(frame, line, CANONICAL[lower], args, outer + tuple(
                n for n, _ in opened))
            return
        if name.startswith("<") and name[1:2] != "/":
            opened.append((name, line))
        elif name.startswith("</"):
            if not opened:
                self._fail(source, line.number,
                           f"{name} without matching <{name[2:]} section")
            if not name.endswith(">"):
                self._fail(source, line.number, f"{name}> directive missing closing '>'")
            parent = opened[-1][0]
            if name[2:-1].lower() != parent[1:].lower():
                self._fail(source, line.number, f"Expected </{parent[1:]}> but saw {name}")
            opened.pop()
        else:
            self.config.directives.append(Directive(
                name, args, source, line.number,
                outer + tuple(n for n, _ in opened)))

    def _execute(self, frame: Frame, line: Line, name: str, args: str,
                 sections: tuple[str, ...]) -> None:
        source = frame.file.source
        where = f"{source.display}:{line.number}"
        if name.startswith("<"):
            self._condition(frame, line, name, args, sections)
            return
        words, rest = [], args
        while rest:
            word, rest = getword(rest)
            words.append(word)
        if name in ("Include", "IncludeOptional"):
            if len(words) != 1 or not words[0]:
                self._fail(source, line.number, f"{name} takes one argument, Name(s) of the "
                                                "config file(s) to be included")
            self._include(words[0], name == "IncludeOptional", source, line, where)
        elif name == "Define":
            if not 1 <= len(words) <= 2 or not words[0]:
                self._fail(source, line.number, "Define takes one or two arguments, Define a "
                                                "variable, optionally to a value.  Same as "
                                                "passing -D to the command line.")
            if ":" in words[0]:
                self._fail(source, line.number, "Variable name must not contain ':'")
            self.defines.add(words[0])
            if len(words) == 2:
                self.variables[words[0]] = words[1]
        elif name == "UnDefine":
            if len(words) != 1 or not words[0]:
                self._fail(source, line.number, "UnDefine takes one argument, Undefine the "
                                                "existence of a variable. Undo a Define.")
            self.defines.discard(words[0])
            self.variables.pop(words[0], None)
        elif name == "LoadModule":
            if len(words) != 2:
                self._fail(source, line.number, "LoadModule takes two arguments, a module "
                                                "name and the name of a shared object file to "
                                                "load it from")
            if words[0] not in self.config.modules and words[0] not in STATIC_MODULES:
                self.config.modules[words[0]] = Module(words[0], words[1], where)
        elif name == "ServerRoot":
            if len(words) != 1 or not words[0]:
                self._fail(source, line.number, "ServerRoot takes one argument, Common "
                                                "directory of server-related files (logs, "
                                                "confs, etc.)")
            root = self._absolute(words[0])
            real = self.locate(root)
            if self.strict and real is not None and not real.is_dir():
                self._fail(source, line.number, "ServerRoot must be a valid directory")
            self.config.server_root = root

    def locate(self, inside: str) -> Path | None:
        """Where a server path is. In a repository (``real_root`` given) only paths below
        the current ServerRoot are known: they sit below the folder taken for it."""
        if self.real_root is None:
            return self._locate(inside)
        rel = posixpath.relpath(inside, self.config.server_root)
        return None if rel.startswith("..") else self.real_root / rel

    def _absolute(self, path: str) -> str:
        """``ap_server_root_relative``: relative paths hang off ServerRoot."""
        return posixpath.normpath(posixpath.join(self.config.server_root, path))

    # -- conditional sections ------------------------------------------------------------

    def _condition(self, frame: Frame, line: Line, name: str, args: str,
                   sections: tuple[str, ...]) -> None:
        """``start_cond_section``: ``>`` must close the arguments; ``!`` negates; the first
        word is tested; a true body is built in place, a false one is soaked."""
        source = frame.file.source
        end = args.rfind(">")
        if end < 0:
            self._fail(source, line.number, f"{name}> directive missing closing '>'")
        arg = args[:end]
        negate = arg.startswith("!")
        word, _ = getword(arg[1:] if negate else arg)
        if not word:
            self._fail(source, line.number, f"{name}> directive requires additional arguments")
        if self._test(name, word, arg) != negate:
            self._body(frame, name, sections)
        else:
            self._soak(frame, line, name)

    def _test(self, name: str, word: str, arg: str) -> bool:
        if name == "<IfModule":
            self.config.tested.add(word)
            return self.config.loaded(word)
        if name == "<IfDefine":
            return word in self.defines
        if name == "<IfFile":
            real = self.locate(self._absolute(word))
            return bool(real and real.exists())
        if name == "<IfVersion":
            return _version_matches(arg.lstrip("!"))
        return True  # <IfDirective>/<IfSection>: assumed present

    def _body(self, frame: Frame, name: str, sections: tuple[str, ...]) -> None:
        """``ap_build_cont_config``: lines up to the first ``</Name>`` met outside any
        nested section; end of file ends the body without complaint."""
        close = f"</{name[1:]}>".lower()
        opened: list[tuple[str, Line]] = []
        while True:
            line = frame.next()
            if line is None:
                return
            if not opened and line.text.lower() == close:
                return
            self._line(frame, line, opened, sections)

    def _soak(self, frame: Frame, start: Line, name: str) -> None:
        """``ap_soak_end_container``: skip to the matching end tag, checking only that
        nested sections close in order; no variable is substituted here."""
        source = frame.file.source
        while True:
            line = frame.next()
            if line is None:
                self._fail(source, start.number,
                           f"Expected </{name[1:]}> before end of configuration")
            word, rest = getword(line.text)
            if not word.startswith("<"):
                continue
            if word[1:2] == "/":
                seen = word[:-1]
                if seen[2:].lower() != name[1:].lower():
                    self._fail(source, start.number,
                               f"Expected </{name[1:]}> but saw {seen}>")
                return
            nested = word[:-1] if not rest and word.endswith(">") else word
            self._soak(frame, start, nested)  # errors name the soaked section's line

    # -- includes ------------------------------------------------------------------------

    def _include(self, pattern: str, optional: bool, source: Source, line: Line,
                 where: str) -> None:
        self.last_include = line.number
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            self._fail(source, line.number, f"Exceeded maximum include depth of "
                                            f"{MAX_INCLUDE_DEPTH}, There appears to be a "
                                            "recursion.", "CONF002")
        inside = self._absolute(pattern)
        for real, shown in self._expand(inside, optional, source, line, where):
            if _identity(real) in self.stack:
                self._fail(source, line.number,
                           f"include cycle: {shown} is already being read "
                           f"({' -> '.join(str(p) for p in [*self.stack, real])}); httpd "
                           f"stops with \"Exceeded maximum include depth of "
                           f"{MAX_INCLUDE_DEPTH}, There appears to be a recursion.\"",
                           "CONF002")
            self._file(real, where)

    def _missing(self, source: Source, line: Line, message: str) -> None:
        self._fail(source, line.number, f"{message}: httpd refuses to start", "CONF002")

    def _expand(self, inside: str, optional: bool, source: Source, line: Line, where: str):
        """The files an Include names, in the order httpd reads them (``ap_dir_fnmatch``:
        a wildcard may stand in any component, matches are sorted byte-wise and never
        start with a dot; a directory is read whole, recursively, dot files included)."""
        if not is_glob(inside):
            real = self.locate(inside)
            if real is None:
                self.config.unresolved.append((inside, where))
                return
            if real.is_dir():
                yield from self._directory(real)
            elif real.exists() or not optional:
                if not real.exists() and not self.strict:
                    self.config.unresolved.append((inside, where))
                    return
                if not real.exists():
                    self._missing(source, line, f"Could not open configuration file {inside}: "
                                                "No such file or directory")
                yield real, inside
            return
        parts = inside.strip("/").split("/")
        literal = next(i for i, p in enumerate(parts) if is_glob(p))
        base = "/" + "/".join(parts[:literal])
        real = self.locate(base)
        if real is None:
            self.config.unresolved.append((inside, where))
            return
        yield from self._match(real, base, parts[literal:], optional, source, line, where)

    def _match(self, real: Path, shown: str, rest: list[str], optional: bool,
               source: Source, line: Line, where: str):
        try:
            names = sorted((p.name for p in real.iterdir()), key=_bytes)
        except OSError:
            if optional:
                return
            if not self.strict:
                self.config.unresolved.append(("/".join([shown, *rest]), where))
                return
            self._missing(source, line, f"Include/IncludeOptional: Could not open directory "
                                        f"{shown}: No such file or directory")
        pattern, rest = rest[0], rest[1:]
        wild = is_glob(pattern)
        matched = [n for n in names if (fnmatch.fnmatchcase(n, pattern) and
                                        not (n.startswith(".") and not pattern.startswith(".")))
                   ] if wild else [n for n in names if n == pattern]
        if rest:
            matched = [n for n in matched if (real / n).is_dir()]
        if not matched and wild and not optional:
            if not self.strict:
                self.config.unresolved.append((f"{shown}/{pattern}", where))
                return
            self._missing(source, line, f"No matches for the wildcard '{pattern}' in "
                                        f"'{shown}', failing")
        for name in matched:
            if rest:
                yield from self._match(real / name, f"{shown}/{name}", rest, optional, source,
                                       line, where)
            elif (real / name).is_dir():
                yield from self._directory(real / name)
            else:
                yield real / name, f"{shown}/{name}"

    def _directory(self, real: Path, depth: int = 0):
        if depth > MAX_INCLUDE_DEPTH:
            return
        try:
            entries = sorted(real.iterdir(), key=lambda p: _bytes(p.name))
        except OSError:
            return
        for entry in entries:
            if entry.is_dir():
                yield from self._directory(entry, depth + 1)
            else:
                yield entry, str(entry)


def _identity(path: Path) -> str:
    return os.path.realpath(path)


def is_glob(path: str) -> bool:
    """``apr_fnmatch_test``: ``*``, ``?`` or a ``[`` closed by a later ``]``."""
    return "*" in path or "?" in path or bool(re.search(r"\[.*\]", path))


def _bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _version_matches(arg: str) -> bool:
    """``<IfVersion [op] version>`` against HTTPD_VERSION (regex forms included)."""
    words = arg.split()
    op, version = (words[0], words[1]) if len(words) >= 2 else ("=", words[0] if words else "")
    current = ".".join(map(str, HTTPD_VERSION))
    if op in ("~",) or (version.startswith("/") and version.endswith("/")):
        try:
            return re.search(version.strip("/"), current) is not None
        except re.error:
            return False
    wanted = tuple(int(p) if p.isdigit() else 0 for p in version.split(".")[:3])
    wanted += (0,) * (3 - len(wanted)) if len(wanted) < 3 else ()
    if len(version.split(".")) < 3 and op in ("=", "=="):
        return HTTPD_VERSION[:len(version.split("."))] == wanted[:len(version.split("."))]
    return {"=": HTTPD_VERSION == wanted, "==": HTTPD_VERSION == wanted,
            ">": HTTPD_VERSION > wanted, ">=": HTTPD_VERSION >= wanted,
            "<": HTTPD_VERSION < wanted, "<=": HTTPD_VERSION <= wanted}.get(op, False)


_EXPORT = re.compile(r"^[ \t]*export[ \t]+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def envvars(text: str) -> dict[str, str]:
    """Debian's /etc/apache2/envvars is a shell script that apache2ctl sources; we never run
    it. Its ``export NAME=value`` lines are read, quotes removed, and ``$NAME``/``${NAME}``
    of earlier exports substituted (anything else, such as $SUFFIX, is empty as in the
    default /etc/apache2 case)."""
    found: dict[str, str] = {}
    for raw in text.split("\n"):
        m = _EXPORT.match(raw)
        if not m:
            continue
        value = m.group(2).strip()
        if " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        found[m.group(1)] = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
                                   lambda v: found.get(v.group(1), ""), value)
    return found
