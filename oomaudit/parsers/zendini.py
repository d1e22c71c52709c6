"""One line of a Zend INI file in ZEND_INI_SCANNER_NORMAL mode, as PHP 8.2 reads it.

php-fpm feeds its configuration to the Zend INI parser one line at a time
(``fpm_conf_load_ini_file``), so a line is the unit here: sections, ``key = value``,
``key[offset] = value`` and a bare ``key`` (which php-fpm rejects). Values are
evaluated as the parser evaluates them: ``"..."`` with ``\\"``/``\\\\``/``\\$`` escapes,
``'raw'``, ``${VAR}`` from the environment, PHP constants, ``yes``/``off``/``null``
keywords (case-insensitive), and the ``| & ^ ~ !`` integer operators on 32-bit C ints.
The rules follow Zend/zend_ini_scanner.l and zend_ini_parser.y; the differential tests
compare them with ``php-fpm8.2 -tt``.

Over 300 lines, and one concern: the scanner's and the parser's reading of one line,
whose tokens and their values are defined together and cannot be read apart.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from ..cnumbers import digits as c_digits
from ..record import Record
from .linescan import numbered

# LABEL_CHAR: [^=\n\r\t;&|^$~(){}!"[\]\x00]
_LABEL = re.compile(r"[^=\n\r\t;&|^$~(){}!\"\[\]\x00]+")
# VALUE_CHARS: [^$= \t\n\r;&|^~()!"'\x00] or a '$' not followed by '{'
_VALUE = re.compile(r"(?:[^$= \t\n\r;&|^~()!\"'\x00]|\$(?:[^{\x00]|\\[\s\S]))+")
# SECTION_VALUE_CHARS (sections and offsets): [^$\n\r;"'\]\\] or \\any or a lone '$'
_SECTION = re.compile(r"(?:[^$\n\r;\"'\]\\]|\\[\s\S]|\$(?:[^{\x00]|\\[\s\S]))+")
_CONSTANT = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_KEYWORD = re.compile(r"(true|yes|on|false|off|none|null|no)[ \t]*", re.I)
_NEWLINE = re.compile(r"[ \t]*(?:\r\n|\r|\n|$)")
_COMMENT = re.compile(r"[ \t]*;[^\r\n]*(?:\r\n|\r|\n|$)")
_SPACE = re.compile(r"[ \t]+")
_QUOTE = re.compile(r"[ \t]*\"")
_RAW = re.compile(r"'([^']+)'")
_CLOSE = re.compile(r"[ \t]*\]")
_VARNAME_STOP = set("=\n\r\t;&|^$~(){}!\"[]\x00")

E_CONSTANTS = {"E_ERROR": 1, "E_WARNING": 2, "E_PARSE": 4, "E_NOTICE": 8, "E_CORE_ERROR": 16,
               "E_CORE_WARNING": 32, "E_COMPILE_ERROR": 64, "E_COMPILE_WARNING": 128,
               "E_USER_ERROR": 256, "E_USER_WARNING": 512, "E_USER_NOTICE": 1024,
               "E_STRICT": 2048, "E_RECOVERABLE_ERROR": 4096, "E_DEPRECATED": 8192,
               "E_USER_DEPRECATED": 16384, "E_ALL": 32767}
CONSTANTS = {**{k: str(v) for k, v in E_CONSTANTS.items()},
             "PHP_INT_MAX": str(2**63 - 1), "PHP_INT_MIN": str(-2**63), "PHP_INT_SIZE": "8",
             "PHP_OS": "Linux", "PHP_OS_FAMILY": "Linux", "PHP_EOL": "\n",
             "DIRECTORY_SEPARATOR": "/", "PATH_SEPARATOR": ":", "PHP_MAXPATHLEN": "4096",
             "PHP_MAJOR_VERSION": "8", "PHP_MINOR_VERSION": "2"}


class IniSyntaxError(Exception):
    """What PHP prints as ``PHP:  syntax error, unexpected X``."""


class Statement(NamedTuple):
    """``section`` (name), ``entry`` (name = value), ``array`` (name[offset] = value) or
    ``bare`` (a name without ``=``: the parser passes php-fpm a NULL value)."""

    kind: str
    name: str
    value: str | None = None
    offset: str | None = None
    env: tuple[str, ...] = ()  # ${VAR} names the value read from the environment


class _Line(Record):
    """The scanner over one line: ``pos`` is the next character, ``env`` the ``${VAR}`` names
    read since the last statement (:func:`_take` hands them to it)."""

    def __init__(self, text: str, environ: Mapping[str, str], pos: int = 0,
                 env: list[str] | None = None):
        self.text = text
        self.environ = environ
        self.pos = pos
        self.env = [] if env is None else env

    def at(self, k: int = 0) -> str:
        i = self.pos + k
        return self.text[i] if i < len(self.text) else ""

    def match(self, pattern: re.Pattern) -> re.Match | None:
        return pattern.match(self.text, self.pos)

    def unexpected(self, what: str | None = None) -> IniSyntaxError:
        ch = self.at()
        if what is None:
            what = "end of file" if ch in ("", "\n") and self.pos >= len(self.text) - 1 \
                else f"'{ch}'"
        return IniSyntaxError(f"syntax error, unexpected {what}")


_STATEMENT_LINE = re.compile(r"^(?![ \t]*(?:;[^\r\n]*)?$).+", re.M)


def statement_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) of the lines of ``text`` that are not blanks and a comment (which ends
    at a \\r: the scanner reads on), the only ones parse_line finds anything in."""
    return numbered(_STATEMENT_LINE, text)


def parse_line(text: str, environ: Mapping[str, str] | None = None) -> list[Statement]:
    """The statements of one line (php-fpm appends the newline it split at). Raises
    IniSyntaxError where PHP reports a syntax error; statements before it on the same line
    have already reached php-fpm, so they are kept on the exception (``.done``)."""
    line = _Line(text if text.endswith("\n") else text + "\n",
                 os.environ if environ is None else environ)
    done: list[Statement] = []
    try:
        while line.pos < len(line.text):
            statement = _statement(line)
            if statement is not None:
                done.append(statement)
    except IniSyntaxError as exc:
        exc.done = done  # type: ignore[attr-defined]
        raise
    return done


def _statement(line: _Line) -> Statement | None:
    space = line.match(_SPACE)
    if space:
        line.pos = space.end()
    end = line.match(_COMMENT) or line.match(_NEWLINE)
    if end:
        line.pos = max(end.end(), line.pos + 1)
        return None
    ch = line.at()
    if ch == "\x00":
        line.pos = len(line.text)  # re2c's catch-all returns 0: the parse ends here
        return None
    if ch == "[":
        line.pos += 1
        name = _string_list(line, section=True)
        if line.at() != "]":
            raise line.unexpected()
        line.pos += 1
        rest = line.match(_NEWLINE)
        if rest:
            line.pos = rest.end()
        return Statement("section", name, env=tuple(_take(line)))
    label = line.match(_LABEL)
    keyword = line.match(_KEYWORD)
    offset = label is not None and line.text[label.end():label.end() + 1] == "["
    if keyword and not offset and (not label or keyword.end() >= label.end()):
        raise line.unexpected({"true": "BOOL_TRUE", "on": "BOOL_TRUE", "yes": "BOOL_TRUE",
                               "null": "NULL_NULL"}.get(keyword.group(1).lower(), "BOOL_FALSE"))
    if not label:
        raise line.unexpected()
    line.pos = label.end()
    name = label.group().strip(" ")
    if offset:  # name[offset] = value
        line.pos += 1
        space = line.match(_SPACE)
        if space:
            line.pos = space.end()
        offset = _string_list(line, section=True, offset=True)
        space = line.match(_SPACE)
        if space:
            line.pos = space.end()
        if line.at() != "]":
            raise line.unexpected()
        line.pos += 1
        space = line.match(_SPACE)
        if space:
            line.pos = space.end()
        if line.at() != "=":
            raise line.unexpected()
        line.pos += 1
        return Statement("array", name, _value(line), offset, tuple(_take(line)))
    space = line.match(_SPACE)
    if space:
        line.pos = space.end()
    if line.at() != "=":
        return Statement("bare", name)
    line.pos += 1
    return Statement("entry", name, _value(line), env=tuple(_take(line)))


def _take(line: _Line) -> list[str]:
    names, line.env = line.env, []
    return names


def _value(line: _Line) -> str:
    """string_or_value: an expression, a keyword, or nothing before the end of the line."""
    space = line.match(_SPACE)
    if space:
        line.pos = space.end()
    if _at_end(line) or _stray(line):
        return ""
    keyword = _keyword(line)
    if keyword is not None:
        if not _at_end(line):
            raise line.unexpected(_token_name(line))
        return keyword
    result = _expr(line)
    if not (_at_end(line) or _stray(line)):
        raise line.unexpected(_token_name(line))
    return result


def _at_end(line: _Line) -> bool:
    """END_OF_LINE in ST_VALUE: spaces then a newline, a comment, or the end."""
    end = line.match(_COMMENT) or line.match(_NEWLINE)
    if end:
        line.pos = end.end()
        return True
    if line.at() == "\x00":
        line.pos = len(line.text)
        return True
    return False


def _stray(line: _Line) -> bool:
    """A quote no token matches ends the value (re2c's catch-all in ST_VALUE); the rest of
    the line is read again from the start state."""
    return line.at() == "'" and not _RAW.match(line.text, line.pos)


def _keyword(line: _Line) -> str | None:
    m = line.match(_KEYWORD)
    if not m:
        return None
    longer = line.match(_VALUE)
    if longer and longer.end() > m.end():
        return None
    line.pos = m.end()
    return "" if m.group(1).lower() in ("false", "off", "no", "none", "null") else "1"


def _token_name(line: _Line) -> str:
    """How PHP names the token it did not expect after a complete value."""
    if line.at() == "=":
        return "'='"
    if line.match(_KEYWORD) and _keyword_wins(line):
        word = line.match(_KEYWORD).group(1).lower()
        return "NULL_NULL" if word == "null" else \
            "BOOL_TRUE" if word in ("true", "on", "yes") else "BOOL_FALSE"
    if line.match(_CONSTANT):
        return "TC_CONSTANT"
    return f"'{line.at()}'"


def _keyword_wins(line: _Line) -> bool:
    m, longer = line.match(_KEYWORD), line.match(_VALUE)
    return bool(m) and not (longer and longer.end() > m.end())


def _expr(line: _Line) -> str:
    left = _unary(line)
    while line.at() in ("|", "&", "^") and line.at():
        op = line.at()
        _operator(line)
        right = _unary(line)
        left = _do_op(op, left, right)
    return left


def _unary(line: _Line) -> str:
    ch = line.at()
    if ch in ("~", "!") and ch:
        _operator(line)
        return _do_op(ch, _unary(line), None)
    if ch == "(" and ch:
        _operator(line)
        inner = _expr(line)
        if line.at() != ")":
            raise line.unexpected()
        _operator(line)
        return inner
    return _string_list(line, section=False, required=True)


def _operator(line: _Line) -> None:
    line.pos += 1
    space = line.match(_SPACE)
    if space:
        line.pos = space.end()


def _atoi(text: str) -> int:
    m = re.match(r"[ \t\n\v\f\r]*([+-]?\d+)", text)
    if not m:
        return 0
    value = max(min(int(m.group(1)), 2**63 - 1), -2**63)  # strtol saturates
    return _int32(value)


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _do_op(op: str, a: str, b: str | None) -> str:
    x, y = _atoi(a), _atoi(b) if b is not None else 0
    result = {"|": x | y, "&": x & y, "^": x ^ y, "~": ~x, "!": int(not x)}[op]
    return str(_int32(result))


def _string_list(line: _Line, section: bool, required: bool = False, offset: bool = False
                 ) -> str:
    """var_string_list: pieces glued together (strings, whitespace, quoted strings,
    ${VAR}, constants). In section names and offsets constants stay as written."""
    pieces: list[str] = []
    while True:
        ch = line.at()
        if ch == "$" and line.at(1) == "{":
            pieces.append(_variable(line))
            continue
        if ch == "'":
            m = _RAW.match(line.text, line.pos)
            if not m:
                break
            pieces.append(m.group(1))
            line.pos = m.end()
            continue
        quote = _QUOTE.match(line.text, line.pos)
        if quote:
            line.pos = quote.end()
            pieces.append(_quoted(line))
            continue
        if section:
            if offset and _CLOSE.match(line.text, line.pos):
                break
            m = line.match(_SECTION)
            if not m:
                break
            pieces.append(m.group())
            line.pos = m.end()
            continue
        space = line.match(_SPACE)
        if space:
            if line.match(_COMMENT) or line.match(_NEWLINE):
                break  # END_OF_LINE takes the spaces before it
            pieces.append(space.group())
            line.pos = space.end()
            continue
        if _keyword_wins(line):
            break
        m = line.match(_VALUE)
        if not m:
            break
        constant = line.match(_CONSTANT)
        if constant and constant.end() == m.end():
            pieces.append(CONSTANTS.get(constant.group(), constant.group()))
        else:
            pieces.append(m.group())
        line.pos = m.end()
    if required and not pieces:
        raise line.unexpected(_token_name(line) if line.at() not in ("", "\n") else None)
    return "".join(pieces)


def _variable(line: _Line) -> str:
    """${NAME}: php.ini directives are not known to php-fpm's parser here, so only the
    environment counts (as in php-fpm -tt)."""
    line.pos += 2
    start = line.pos
    if line.at() in _VARNAME_STOP or not line.at():
        raise line.unexpected()
    while line.at() and line.at() not in _VARNAME_STOP:
        line.pos += 1
    name = line.text[start:line.pos].strip(" \t")
    if line.at() != "}":
        raise line.unexpected("end of file" if line.at() in ("", "\n") else None)
    line.pos += 1
    line.env.append(name)
    return line.environ.get(name, "")


def _quoted(line: _Line) -> str:
    """A double-quoted string up to its closing quote, with ${VAR} inside."""
    pieces: list[str] = []
    text = line.text
    while True:
        start = s = line.pos
        while s < len(text):
            ch = text[s]
            if ch == '"' or (ch == "$" and text[s + 1:s + 2] == "{"):
                break
            if ch == "\\" and s + 1 < len(text):
                if text[s + 1] == '"' and (s + 2 >= len(text) or text[s + 2] in "\r\n"):
                    s += 1  # Windows path: key="C:\path\" ends at that quote
                    break
                s += 2
                continue
            s += 1
        pieces.append(_unescape(text[start:s]))
        line.pos = s
        if s >= len(text):
            raise IniSyntaxError("syntax error, unexpected end of file, expecting "
                                 "TC_DOLLAR_CURLY or TC_QUOTED_STRING or '\"'")
        if text[s] == '"':
            line.pos = s + 1
            space = line.match(_SPACE)
            if space:
                line.pos = space.end()
            return "".join(pieces)
        pieces.append(_variable(line))


def _unescape(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            out.append(nxt if nxt in "\"\\$" else ch + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_QUANTITY = re.compile(r"[ \t\n\r\v\f]*([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|"
                       r"[1-9][0-9]*)[ \t\n\r\v\f]*([kKmMgG]?)[ \t\n\r\v\f]*")


def quantity(text: str) -> int | None:
    """zend_ini_parse_quantity (PHP 8.2) for the values PHP reads without a warning:
    decimal, 0x/0o/0b or leading-0 octal, an optional k/m/g; None for anything PHP only
    takes "for backwards compatibility" (it warns and reads something else)."""
    if not text.strip(" \t\n\r\v\f"):
        return 0
    m = _QUANTITY.fullmatch(text)
    if not m:
        return None
    sign, digits, unit = m.groups()
    prefix = digits[1:2].lower()
    if prefix in ("x", "o", "b"):
        number = c_digits(digits[2:], {"x": 16, "o": 8, "b": 2}[prefix])
    else:
        number = c_digits(digits, 8 if digits.startswith("0") else 10)
    value = number * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit.lower()]
    return -value if sign == "-" else value


def scan_dir(fs, folder) -> list:
    """The ``*.ini`` files PHP reads from its scan folder (``conf.d``, ``php.d``) after
    php.ini, in name order; nothing when the folder is absent. ``fs``: the host's Tree."""
    try:
        names = fs.listdir(folder)
    except OSError:
        return []
    return [folder / name for name in names
            if name.endswith(".ini") and not fs.is_dir(folder / name)]
