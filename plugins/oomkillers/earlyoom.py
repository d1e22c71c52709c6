"""/etc/default/earlyoom read as earlyoom.service starts earlyoom from it: systemd reads the
file as an EnvironmentFile (KEY=VALUE, '#'/';' comment lines, single quotes literal, double
quotes and bare values with backslash escapes, a backslash at the end of a line joining the
next), then ``ExecStart=/usr/bin/earlyoom $EARLYOOM_ARGS`` splits the value into words,
unquoting them (as shlex does), and earlyoom's getopt_long reads the words (short flags bundled or
with attached values, ``--long=value``, unique prefixes of long options).

What earlyoom would refuse (an unknown flag, a value it cannot parse, a regex that does not
compile) is a CONF001 finding: earlyoom exits at start and kills nothing. Its defaults
(v1.7): SIGTERM below 10% available memory and 10% free swap, SIGKILL below half of each.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit import shellwords
from oomaudit.reading import Source

from .constants import FLAGS, VARIABLE

_LIMITS = {"-m": 99, "-s": 100}  # earlyoom v1.7's upper bounds of the percentages
# POSIX classes earlyoom's regcomp (REG_EXTENDED) knows and Python's re does not
_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z",
            "lower": "a-z", "space": r" \t\n\r\f\v", "punct": r"!-/:-@\[-`{-~",
            "xdigit": "0-9A-Fa-f", "blank": r" \t", "word": r"\w"}


class Threshold(NamedTuple):
    term: float  # percent (-m/-s) or KiB (-M/-S)
    kill: float
    flag: str  # which flag set it, "" for the default

    def shown(self, what: str) -> str:
        unit = " KiB" if self.flag in ("-M", "-S") else "%"
        said = f"{self.flag} {self.term:g}{unit},{self.kill:g}{unit}" if self.flag else \
            f"default {self.term:g}%, {self.kill:g}%"
        return f"{what}: {said}"


class Earlyoom(NamedTuple):
    source: Source
    line: int | None  # of EARLYOOM_ARGS; None when the file does not set it
    args: tuple[str, ...]
    memory: Threshold  # available memory under which earlyoom sends SIGTERM / SIGKILL
    swap: Threshold  # free swap (both must be under their minimum)
    prefer: str | None
    avoid: str | None
    ignore: str | None
    starts: bool  # False: earlyoom refuses these arguments and exits

    @property
    def where(self) -> str:
        return f"{self.source.display}:{self.line}" if self.line else self.source.display


def parse(source: Source) -> Earlyoom:
    env = environment(source.text)
    value, line = env.get(VARIABLE, ("", None))
    args, error = words(value), None
    try:
        options = getopt(args)
        memory = _threshold(options, "-m", "-M")
        swap = _threshold(options, "-s", "-S")
        regexes = {name: _regex(options, name) for name in ("--prefer", "--avoid", "--ignore")}
    except ValueError as exc:
        error = str(exc)
    if error is not None:
        source.problem("CONF001", line, f"earlyoom refuses {VARIABLE}: {error}: it exits at "
                       "start and kills nothing", key=VARIABLE,
                       fix=f"{VARIABLE}=\"-r 3600\"   # see earlyoom --help")
        default = Threshold(10.0, 5.0, "")
        return Earlyoom(source, line, tuple(args), default, default, None, None, None, False)
    return Earlyoom(source, line, tuple(args), memory, swap, regexes["--prefer"],
                    regexes["--avoid"], regexes["--ignore"], True)


def environment(text: str) -> dict[str, tuple[str, int]]:
    """KEY -> (value, line) as systemd's EnvironmentFile= reads the text (the last wins)."""
    env: dict[str, tuple[str, int]] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    number = 0
    while number < len(lines):
        start = number
        logical = lines[number]
        number += 1
        # a backslash at the end of an unquoted line continues it
        while logical.endswith("\\") and not _in_quote(logical) and number < len(lines):
            logical = logical[:-1] + lines[number]
            number += 1
        stripped = logical.strip()
        if not stripped or stripped[0] in "#;":
            continue
        key, equals, value = stripped.partition("=")
        key = key.strip()
        if equals and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            env[key] = (_unquote(value.lstrip()), start + 1)
    return env


def _in_quote(text: str) -> bool:
    quote, escaped = None, False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
    return quote is not None


def _unquote(value: str) -> str:
    out, quote, i, trailing = [], None, 0, 0
    while i < len(value):
        ch = value[i]
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
        elif ch == "\\" and i + 1 < len(value):
            i += 1
            out.append(value[i])
        elif quote == '"':
            if ch == '"':
                quote = None
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        else:
            out.append(ch)
            trailing = trailing + 1 if ch.isspace() else 0
            i += 1
            continue
        trailing = 0
        i += 1
    return "".join(out[:len(out) - trailing] if trailing else out)


def words(value: str) -> list[str]:
    """``$EARLYOOM_ARGS`` as systemd splits it: at whitespace, quotes removed; an unclosed
    quote runs to the end (systemd's relaxed extraction)."""
    for closing in ("", "'", '"'):
        try:
            return shellwords.split(value + closing)
        except ValueError:
            continue
    return value.split()


def getopt(args: list[str]) -> list[tuple[str, str | None]]:
    """(flag, value) pairs in order, as getopt_long reads earlyoom's arguments."""
    longs = [f for f in FLAGS if f.startswith("--")]
    options, i = [], 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            if i < len(args):
                raise ValueError(f"extra argument not understood: {args[i]!r}")
            break
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            matches = [f for f in longs if f.startswith(name)]
            flag = name if name in longs else (matches[0] if len(matches) == 1 else None)
            if flag is None:
                raise ValueError(f"{'ambiguous' if matches else 'unrecognized'} option {name!r}")
            takes = FLAGS[flag][0]
            if takes and not equals:
                if i >= len(args):
                    raise ValueError(f"option {flag!r} requires an argument")
                value, i = args[i], i + 1
            elif equals and not takes:
                raise ValueError(f"option {flag!r} doesn't allow an argument")
            options.append((flag, value if takes else None))
        elif arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                flag = "-" + arg[j]
                if flag not in FLAGS:
                    raise ValueError(f"invalid option -- {arg[j]!r}")
                if FLAGS[flag][0]:
                    value = arg[j + 1:]
                    if not value:
                        if i >= len(args):
                            raise ValueError(f"option requires an argument -- {arg[j]!r}")
                        value, i = args[i], i + 1
                    options.append((flag, value))
                    break
                options.append((flag, None))
                j += 1
        else:
            raise ValueError(f"extra argument not understood: {arg!r}")
    return options


_STRTOD = re.compile(r"\s*[-+]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                     r"(?:[pP][-+]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|"
                     r"inf(?:inity)?|nan)", re.IGNORECASE)


def _number(text: str, flag: str) -> float:
    """A number as C's strtod reads it (hex, exponents, inf); nothing parsed is 0."""
    match = _STRTOD.match(text)
    if not match:
        if text.strip():
            raise ValueError(f"{flag}: trailing garbage {text!r}")
        return 0.0
    if text[match.end():]:
        raise ValueError(f"{flag}: trailing garbage {text[match.end():]!r}")
    number = match.group(0).strip()
    return float.fromhex(number) if "x" in number.lower() else float(number)


def _threshold(options, percent: str, kib: str) -> Threshold:
    """The last -m (-s) and the last -M (-S) each; a size in KiB wins over a percentage,
    whatever their order, as earlyoom converts it after reading every flag."""
    found = {percent: Threshold(10.0, 5.0, ""), kib: None}
    for flag, value in options:
        if flag not in (percent, kib):
            continue
        term_text, comma, kill_text = value.partition(",")
        term = _number(term_text, flag)
        kill = _number(kill_text, flag) if comma else term / 2
        for v in (term, kill):
            if v < 0:
                raise ValueError(f"{flag}: value {v:f} below zero")
            if flag == percent and not v <= _LIMITS[flag]:
                raise ValueError(f"{flag}: value {v:f} exceeds limit {_LIMITS[flag]}")
        if term == 0 and kill == 0:
            raise ValueError(f"{flag}: both SIGTERM and SIGKILL values are zero")
        found[flag] = Threshold(max(term, kill), kill, flag)  # SIGTERM raised to SIGKILL's
    return found[kib] or found[percent]


def _regex(options, flag: str) -> str | None:
    """The last value of a regex flag; it must compile (earlyoom's regcomp)."""
    value = None
    for name, given in options:
        if name == flag:
            value = given
    if value is not None:
        try:
            compiled(value)
        except re.error as exc:
            raise ValueError(f"{flag}: could not compile regexp {value!r} ({exc})") from None
    return value


def compiled(posix: str) -> re.Pattern:
    """A POSIX extended regex as Python's re reads it (bracket classes written out)."""
    return re.compile(re.sub(r"\[:(\w+):\]",
                             lambda m: _CLASSES.get(m.group(1), m.group(0)), posix))
