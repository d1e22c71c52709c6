"""Apache httpd's configuration built from a top-level file the way httpd 2.4's
``ap_build_config`` builds it (server/config.c).

The files come as logical lines (``oomaudit.parsers.apache_syntax``: the reader's
parse). ``Loader`` then reads them in order: ``${VAR}`` is replaced on each line before
its words are split, the directives httpd executes while reading (``Include``,
``IncludeOptional``, ``<IfModule>``, ``<IfDefine>``, ``Define``, ``LoadModule``,
``ServerRoot``...) run in file order, the bodies of false sections are skipped as
``ap_soak_end_container`` skips them (only section nesting is checked), and every
structural error stops the read at the line httpd names (CONF001), missing and cyclic
includes are CONF002. Which files an Include names is ``apache_include``'s; what the
read leaves (directives, modules, files) is an ``apache_config.Config``.

What httpd would do with the remaining directives is the rules' business; the MPM
limits are read in ``oomaudit.parsers.apache_mpm``.

Over 300 lines, and one concern: the read-time directives and sections act on one
another (an Include inside an <IfModule> of a module a LoadModule above loaded, a
Define that decides an <IfDefine>), so the one walk over the lines that runs them in
order is kept whole.
"""
from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from pathlib import Path

from ..confine import LIVE, Tree
from ..includes import IncludeBudget
from ..reading import Source
from ..record import Record
from .apache_config import STATIC_MODULES, Config, Directive, Module, Problem
from .apache_include import MAX_INCLUDE_DEPTH, IncludeFiles, Missing
from .apache_syntax import ConfigFile, Line, getword, resolve_env

MAX_NESTING = 200  # conditional sections inside each other (httpd: its C stack's depth)
HTTPD_VERSION = (2, 4, 62)  # for <IfVersion> when the installed version is unknown
CANONICAL = {"<ifmodule": "<IfModule", "<ifdefine": "<IfDefine", "<iffile": "<IfFile",
             "<ifversion": "<IfVersion", "<ifdirective": "<IfDirective",
             "<ifsection": "<IfSection", "include": "Include",
             "includeoptional": "IncludeOptional", "define": "Define", "undefine": "UnDefine",
             "loadmodule": "LoadModule", "serverroot": "ServerRoot", "loadfile": "LoadFile"}


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
                 strict: bool = True, real_root: Path | None = None, fs: Tree | None = None):
        self.read, self._locate = read, locate
        self.fs = fs or Tree(Path("/"), LIVE)  # the host's (confine.py); the live one in tests
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
        self._reading: set[str] = set()  # the stack's files, looked up at every include
        self._nesting = 0  # conditional sections open (_condition)
        self.budget = IncludeBudget()
        self.last_include = 0
        for symbol in self.assume:
            self.config.modules[symbol] = Module(symbol, "", "assumed")
        try:
            self._file(top, "", top_level=True)
        except Stop:
            pass
        return self.config

    # -- files ---------------------------------------------------------------------------

    def _file(self, real: Path, wanted_by: str, top_level: bool = False,
              includer: tuple[Source, Line] | None = None) -> None:
        parsed = self.read(real, wanted_by)
        if parsed is None:  # unreadable (the host noted it, CONF003): read on without it
            return
        spent = includer and self.budget.admit(len(parsed.source.text))
        if spent:
            source, line = includer
            source.problem("CONF002", line.number, f"Include: {spent}", key=line.text)
            return
        self.config.files.append(real)
        self.config.sources.append(parsed.source)
        self.config.includes.append((0 if top_level else self.last_include, str(real)))
        self.stack.append(self.fs.real(real))
        self._reading.add(str(self.stack[-1]))
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
            self._reading.discard(str(self.stack.pop()))

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
            if self.strict and real is not None and not self.fs.is_dir(real):
                self._fail(source, line.number, "ServerRoot must be a valid directory")
            self.config.server_root = root

    def locate(self, inside: str) -> Path | None:
        """Where a server path is. In a repository (``real_root`` given) paths below the
        current ServerRoot sit below the folder taken for it; others are where the host
        tree the repository holds has them (``Host.resolve``), if it holds one."""
        if self.real_root is None:
            return self._locate(inside)
        rel = posixpath.relpath(inside, self.config.server_root)
        return self._locate(inside) if rel.startswith("..") else self.real_root / rel

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
        self._nesting += 1
        if self._nesting > MAX_NESTING:  # httpd recurses in C; we stop before Python does
            self._fail(source, line.number, f"{name}> sections nested deeper than "
                                            f"{MAX_NESTING}: not read")
        if self._test(name, word, arg) != negate:
            self._body(frame, name, sections)
        else:
            self._soak(frame, line, name)
        self._nesting -= 1

    def _test(self, name: str, word: str, arg: str) -> bool:
        if name == "<IfModule":
            self.config.tested.add(word)
            return self.config.loaded(word)
        if name == "<IfDefine":
            return word in self.defines
        if name == "<IfFile":
            real = self.locate(self._absolute(word))
            return bool(real and self.fs.exists(real))
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
        nested sections close in order; no variable is substituted here. httpd recurses
        into each nested section; a list of the open ones does the same at any depth."""
        source = frame.file.source
        names = [name]
        while names:
            line = frame.next()
            if line is None:
                self._fail(source, start.number,
                           f"Expected </{names[-1][1:]}> before end of configuration")
            word, rest = getword(line.text)
            if not word.startswith("<"):
                continue
            if word[1:2] == "/":
                seen = word[:-1]
                if seen[2:].lower() != names[-1][1:].lower():
                    self._fail(source, start.number,  # errors name the soaked section's line
                               f"Expected </{names[-1][1:]}> but saw {seen}>")
                names.pop()
                continue
            names.append(word[:-1] if not rest and word.endswith(">") else word)

    # -- includes ------------------------------------------------------------------------

    def _include(self, pattern: str, optional: bool, source: Source, line: Line,
                 where: str) -> None:
        self.last_include = line.number
        if len(self.stack) > MAX_INCLUDE_DEPTH:
            self._fail(source, line.number, f"Exceeded maximum include depth of "
                                            f"{MAX_INCLUDE_DEPTH}, There appears to be a "
                                            "recursion.", "CONF002")
        inside = self._absolute(pattern)
        files = IncludeFiles(self.fs, self.locate, self.strict, self.config.unresolved, where)
        try:
            for real, shown in files.expand(inside, optional):
                if str(self.fs.real(real)) in self._reading:
                    self._fail(source, line.number,
                               f"include cycle: {shown} is already being read "
                               f"({' -> '.join(str(p) for p in [*self.stack, real])}); httpd "
                               f"stops with \"Exceeded maximum include depth of "
                               f"{MAX_INCLUDE_DEPTH}, There appears to be a recursion.\"",
                               "CONF002")
                if self.budget.spent:
                    source.problem("CONF002", line.number, f"Include: {self.budget.spent}",
                                   key=line.text)
                    return
                self._file(real, where, includer=(source, line))
        except Missing as missing:
            self._fail(source, line.number, f"{missing}: httpd refuses to start", "CONF002")


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


