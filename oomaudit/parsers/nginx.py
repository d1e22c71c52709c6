"""nginx configuration as ``nginx -t``/``-T`` reads it: ngx_conf_read_token's tokens
(whitespace, ``;``, ``{``/``}``, ``#`` comments only at a token's start, '...' and "..."
with backslash escapes, ``${`` keeping a brace inside a token), ``include`` globs relative
to the main file's directory (sorted; a glob that matches nothing is fine, a missing file
is an error), and the two values oomaudit uses: ``worker_processes`` (main context,
``auto`` = CPUs) and ``worker_connections`` (events). Syntax errors are CONF001 at the
line nginx reports (the line it was reading: for a missing ``;`` at the end of the file,
the last line). Unknown directives are not reported: they depend on the modules built in.
``*_by_lua_block`` bodies are Lua (OpenResty reads them with its own lexer) and skipped.

One concern, just over 300 lines: how nginx reads a configuration, its tokenizer and the
loader that drives it token by token (a block or an include is entered as its token
arrives, a Lua body is skipped by the tokenizer when the loader meets its directive).
"""
from __future__ import annotations

import glob
import re
from pathlib import Path

from ..includes import IncludeBudget
from ..model import Finding, Severity
from ..record import Record

MAX_BLOCKS = 200  # blocks inside blocks; nginx recurses in C, we stop before Python does
MAX_DEPTH = 32  # nginx has no limit (a loop ends in "Too many open files"); we stop here
DEFAULTS = {"worker_processes": "1", "worker_connections": "512"}
_LUA_BLOCK = re.compile(r"^[a-z_]+_by_lua_block$")


class NginxError(Exception):
    def __init__(self, line: int, message: str, noted: bool = False):
        super().__init__(message)
        self.line, self.noted = line, noted


class Directive(Record):
    """One directive as nginx tokenizes it; ``block`` holds a block's directives (``[]`` for a
    Lua body, which is skipped) and is None for a directive ended by ``;``."""

    def __init__(self, name: str, args: list[str], source: object, line: int,
                 block: list[Directive] | None = None):
        self.name = name
        self.args = args
        self.source = source
        self.line = line  # where nginx reports a problem with it: the line of its ';' or '{'
        self.block = block

    @property
    def where(self) -> str:
        return f"{self.source.display}:{self.line}"


class NginxConfig(Record):
    """A main file and its includes, an include's directives standing where it was written.
    ``values`` are the few directives oomaudit reads (absent: nginx's defaults); ``failed``
    means ``nginx -t`` would reject the files (a CONF001/CONF002 says where)."""

    def __init__(self, source: object, files: list | None = None,
                 directives: list[Directive] | None = None,
                 values: dict[str, Directive] | None = None, failed: bool = False):
        self.source = source
        self.files = [] if files is None else files
        self.directives = [] if directives is None else directives
        self.values = {} if values is None else values  # worker_*, events
        self.failed = failed

    def value(self, name: str) -> str:
        directive = self.values.get(name)
        return directive.args[0] if directive else DEFAULTS[name]


OK, BLOCK_START, BLOCK_DONE, FILE_DONE = "ok", "block", "done", "eof"
# What the tokenizer passes over without a decision, each run in one C scan: blanks between
# words, and inside a word the characters that neither end it nor escape (a ``$`` is left
# out of a bare word: ``${`` keeps its brace; in quotes a brace never ends the word).
# Newlines stay in words' runs for the slow path, which counts lines.
_BLANKS = re.compile(r"[ \t\r\n]+")
_IN_WORD = re.compile(r"[^ \t\r\n;{\\$]+")
_IN_DOUBLE = re.compile(r'[^"\\\n]+')
_IN_SINGLE = re.compile(r"[^'\\\n]+")


class _Tokens:
    """ngx_conf_read_token over one file's text."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def next(self) -> tuple[str, list[str]]:
        words: list[str] = []
        text = self.text
        need_space = quoted = s_quoted = d_quoted = variable = False
        last_space = True
        start = 0
        while True:
            if self.pos >= len(text):
                if words or not last_space:
                    raise NginxError(self.line, 'unexpected end of file, expecting ";" or "}"')
                return FILE_DONE, words
            if last_space:  # between words: blanks in one C scan
                blanks = _BLANKS.match(text, self.pos)
                if blanks:
                    self.line += text.count("\n", self.pos, blanks.end())
                    self.pos = blanks.end()
                    continue
            elif not (quoted or need_space):  # a word's plain run
                plain = (_IN_DOUBLE if d_quoted else _IN_SINGLE if s_quoted
                         else _IN_WORD).match(text, self.pos)
                if plain:
                    self.pos, variable = plain.end(), False
                    continue
            ch = text[self.pos]
            self.pos += 1
            if ch == "\n":
                self.line += 1
            if quoted:
                quoted = False
                continue
            if need_space:
                if ch in " \t\r\n":
                    last_space, need_space = True, False
                    continue
                if ch == ";":
                    return OK, words
                if ch == "{":
                    return BLOCK_START, words
                if ch == ")":
                    last_space, need_space = True, False
                else:
                    raise NginxError(self.line, f'unexpected "{ch}"')
            if last_space:
                start = self.pos - 1
                if ch in " \t\r\n":
                    continue
                if ch in ";{":
                    if not words:
                        raise NginxError(self.line, f'unexpected "{ch}"')
                    return (BLOCK_START if ch == "{" else OK), words
                if ch == "}":
                    if words:
                        raise NginxError(self.line, 'unexpected "}"')
                    return BLOCK_DONE, words
                if ch == "#":  # a comment runs to the newline: skip to it in one find
                    newline = text.find("\n", self.pos)
                    self.pos = len(text) if newline < 0 else newline
                    continue
                last_space = False
                if ch == "\\":
                    quoted = True
                elif ch == '"':
                    start, d_quoted = start + 1, True
                elif ch == "'":
                    start, s_quoted = start + 1, True
                elif ch == "$":
                    variable = True
                continue
            if ch == "{" and variable:
                continue
            variable = False
            if ch == "\\":
                quoted = True
                continue
            if ch == "$":
                variable = True
                continue
            found = False
            if d_quoted:
                if ch == '"':
                    d_quoted, need_space, found = False, True, True
            elif s_quoted:
                if ch == "'":
                    s_quoted, need_space, found = False, True, True
            elif ch in " \t\r\n;{":
                last_space = found = True
            if found:
                words.append(_unescape(text[start:self.pos - 1]))
                if ch == ";":
                    return OK, words
                if ch == "{":
                    return BLOCK_START, words

    def skip_lua(self) -> None:
        """A Lua block body up to its closing brace, skipping Lua strings and comments."""
        depth, text = 1, self.text
        lua = re.compile(r"--\[(=*)\[.*?\]\1\]|--[^\n]*|\[(=*)\[.*?\]\2\]|\"(?:\\.|[^\"\\])*\"|"
                         r"'(?:\\.|[^'\\])*'|[{}]|\n", re.S)
        for m in lua.finditer(text, self.pos):
            self.line += m.group().count("\n")
            if m.group() == "{":
                depth += 1
            elif m.group() == "}":
                depth -= 1
                if depth == 0:
                    self.pos = m.end()
                    return
        self.pos = len(text)
        raise NginxError(self.line, 'unexpected end of file, expecting "}"')


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in "\"'\\":
                out.append(nxt)
                i += 2
                continue
            if nxt in "trn":
                out.append({"t": "\t", "r": "\r", "n": "\n"}[nxt])
                i += 2
                continue
        out.append(raw[i])
        i += 1
    return "".join(out)


class Loader:
    """Reads one main file and its includes through the host (``--root`` stays inside)."""

    def __init__(self, host, reader):
        self.host, self.reader = host, reader

    def load(self, source) -> NginxConfig:
        config = NginxConfig(source)
        self.prefix = str(source.inside or source.path).rsplit("/", 1)[0] or "/"
        self._open = 0  # blocks open, across includes
        self.budget = IncludeBudget()
        try:
            config.directives = self._file(config, source, "main", 1)
        except NginxError:
            config.failed = True
        return config

    def _file(self, config: NginxConfig, source, context: str, depth: int) -> list[Directive]:
        config.files.append(source)
        tokens = _Tokens(source.text)
        try:
            return self._block(config, source, tokens, context, depth, inside=False)
        except NginxError as exc:
            if not exc.noted:  # once, in the file nginx names, not in every includer
                source.problem("CONF001", exc.line, f"nginx rejects this file: {exc}",
                               key=source.line_text(exc.line))
                exc.noted = True
            raise

    def _block(self, config, source, tokens: _Tokens, context: str, depth: int,
               inside: bool) -> list[Directive]:
        result: list[Directive] = []
        while True:
            kind, words = tokens.next()
            if kind == BLOCK_DONE:
                if not inside:
                    raise NginxError(tokens.line, 'unexpected "}"')
                return result
            if kind == FILE_DONE:
                if inside:
                    raise NginxError(tokens.line, 'unexpected end of file, expecting "}"')
                return result
            directive = Directive(words[0], words[1:], source, tokens.line)
            self._check(config, directive, context, kind, tokens)
            if kind == BLOCK_START:
                if _LUA_BLOCK.match(directive.name):
                    tokens.skip_lua()
                    directive.block = []
                else:
                    self._open += 1
                    if self._open > MAX_BLOCKS:
                        raise NginxError(tokens.line, f"blocks nested deeper than {MAX_BLOCKS}"
                                                      " (oomaudit's limit): not read")
                    directive.block = self._block(config, source, tokens, directive.name,
                                                  depth, inside=True)
                    self._open -= 1
            result.append(directive)
            if directive.name == "include" and kind == OK:
                result.extend(self._include(config, directive, context, depth))

    def _check(self, config: NginxConfig, d: Directive, context: str, kind: str,
               tokens: _Tokens) -> None:
        """The few directives whose rules oomaudit relies on, checked as nginx checks them."""
        places = {"worker_processes": "main", "worker_connections": "events", "events": "main"}
        if d.name not in places and d.name != "include":
            return
        if d.name in places and context != places[d.name]:
            raise NginxError(d.line, f'"{d.name}" directive is not allowed here')
        block = d.name == "events"
        if block != (kind == BLOCK_START):
            raise NginxError(d.line, f'directive "{d.name}" has no opening "{{"' if block else
                             f'directive "{d.name}" is not terminated by ";"')
        if len(d.args) != (0 if block else 1):
            raise NginxError(d.line, f'invalid number of arguments in "{d.name}" directive')
        if d.name == "include":
            return
        key = "events" if block else d.name
        if key in config.values:
            raise NginxError(d.line, f'"{d.name}" directive is duplicate')
        config.values[key] = d
        if d.name == "worker_processes" and not (d.args[0] == "auto" or
                                                 d.args[0].isdigit()):
            raise NginxError(d.line, '"worker_processes" directive invalid value')
        if d.name == "worker_connections" and not d.args[0].isdigit():
            raise NginxError(d.line, f'invalid number "{d.args[0]}"')

    def _include(self, config: NginxConfig, d: Directive, context: str, depth: int):
        pattern = d.args[0]
        real = self.host.resolve(pattern, self.prefix)
        if real is None:
            return []
        if depth >= MAX_DEPTH:
            d.source.problem("CONF002", d.line, f"include {pattern}: more than {MAX_DEPTH} "
                                              "nested includes (an include loop?)",
                             key=f"include {pattern}")
            raise NginxError(d.line, "include loop", noted=True)
        if glob.has_magic(pattern):
            try:
                paths = [str(p) for p in self.host.fs.glob(real, folders=True)]
            except OSError:  # the folder cannot be listed: nothing matches
                paths = []
        elif self.host.fs.exists(real):
            paths = [str(real)]
        elif self.host.root is None:  # a repository: the package may ship it (mime.types)
            d.source.problems.append(Finding(
                "CONF002", f"include {pattern}: not among the given files, not read (nginx "
                           "fails to start if the host lacks it too)", d.source.display,
                d.line, severity=Severity.INFO, key=f"include {pattern}"))
            return []
        else:
            d.source.problem("CONF002", d.line, f'nginx cannot start: open() "{pattern}" failed '
                                              "(2: No such file or directory)",
                             key=f"include {pattern}")
            raise NginxError(d.line, "missing include", noted=True)
        found = []
        for path in paths:
            if self.budget.spent:
                break
            source = self.host.read(Path(path), self.reader, d.where)
            if source is None:
                raise NginxError(d.line, "unreadable include", noted=True)
            if self.budget.admit(len(source.text)):
                break
            found.extend(self._file(config, source, context, depth + 1))
        if self.budget.spent:
            d.source.problem("CONF002", d.line, f"include {pattern}: {self.budget.spent}",
                             key=f"include {pattern}")
        return found


_HINTS = re.compile(r"^\s*(worker_processes|worker_connections|events\s*\{|http\s*\{|"
                    r"server\s*\{|upstream\s+\S+\s*\{|location\s+\S)", re.M)


def sniff(head: str) -> bool:
    """nginx.conf named otherwise: at least two of its typical directives or blocks."""
    return len({m.group(1).split()[0] for m in _HINTS.finditer(head)}) >= 2
