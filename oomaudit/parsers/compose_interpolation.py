"""Compose interpolation and ``.env`` files, as docker compose (compose-go) reads them.

Interpolation (compose-spec 12-interpolation.md): ``$$`` is a dollar, ``$VAR``,
``${VAR}``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset),
``${VAR:?err}``/``${VAR?err}`` (required), ``${VAR:+alt}``/``${VAR+alt}``, nested in
defaults; ``${`` not followed by a name is an invalid template, a lone ``$`` stays.
Values only, never keys. Variables come from the ``.env`` next to the first file; the
shell environment of whoever runs the audit is *not* used, so a verdict never depends
on the CI runner. An unset variable becomes "" as in compose, and the value remembers
it (evidence).
"""
from __future__ import annotations

import re

from ..excerpts import excerpt
from ..record import Record

_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_PLAIN = re.compile(r"[^$]+")  # text copied as it is
_PLAIN_NESTED = re.compile(r"[^$}]+")  # ... inside a default, up to its closing brace
MAX_NESTING = 64  # defaults inside defaults: deeper is refused (recursion, not compose's limit)


class TemplateError(ValueError):
    pass


class Interpolated(Record):
    """A string after compose interpolation, and what the ``.env`` left open: ``unset`` names
    are evidence that the deployer's environment may change the value."""

    def __init__(self, text: str, unset: list[str] | None = None, missing: str = ""):
        self.text = text
        self.unset = [] if unset is None else unset  # variables used that .env does not set
        self.missing = missing  # a ${VAR:?err} whose variable is unset: compose refuses to run


def interpolate(text: str, env: dict[str, str]) -> Interpolated:
    if "$" not in text:
        return Interpolated(text)  # nothing to fill, as in most values of a compose file
    result = Interpolated("")
    result.text = _expand(text, env, result, 0)[0]
    return result


def _shown(text: str) -> str:
    """The value in a message: its start and length, a value may be megabytes."""
    return repr(excerpt(text, 80))


def _expand(text: str, env: dict[str, str], out: Interpolated, pos: int,
            nested: int = 0) -> tuple[str, int]:
    """Expand from ``pos``; inside a default (``nested`` levels deep) stop at the closing
    brace. Runs of plain text are copied whole: a long value costs a regex, not a loop."""
    parts: list[str] = []
    plain = _PLAIN_NESTED if nested else _PLAIN
    while pos < len(text):
        run = plain.match(text, pos)
        if run:
            parts.append(run.group())
            pos = run.end()
            continue
        if text[pos] == "}":  # only stops a nested run
            return "".join(parts), pos
        following = text[pos + 1:pos + 2]
        if following == "$":
            parts.append("$")
            pos += 2
            continue
        if following == "{":
            value, pos = _braced(text, env, out, pos + 2, nested)
            parts.append(value)
            continue
        m = _NAME.match(text, pos + 1)
        if m:
            parts.append(_lookup(m.group(), env, out))
            pos = m.end()
        else:  # compose-go's pattern does not match a lone '$': it stays as written
            parts.append("$")
            pos += 1
    if nested:
        raise TemplateError(f"invalid interpolation format for {_shown(text)}: missing '}}'")
    return "".join(parts), pos


def _lookup(name: str, env: dict[str, str], out: Interpolated) -> str:
    if name not in env:
        out.unset.append(name)
        return ""
    return env[name]


def _braced(text: str, env: dict[str, str], out: Interpolated, pos: int,
            nested: int = 0) -> tuple[str, int]:
    m = _NAME.match(text, pos)
    if not m:
        raise TemplateError(f"invalid interpolation format for {_shown(text)}")
    name, pos = m.group(), m.end()
    op = next((o for o in (":-", ":?", ":+", "-", "?", "+") if text.startswith(o, pos)), "")
    if not op:
        if text[pos:pos + 1] != "}":
            raise TemplateError(f"invalid interpolation format for {_shown(text)}")
        return _lookup(name, env, out), pos + 1
    if nested >= MAX_NESTING:
        raise TemplateError(f"interpolation nested deeper than {MAX_NESTING} defaults in "
                            f"{_shown(text)}")
    arg, end = _expand(text, env, out, pos + len(op), nested + 1)
    is_set = name in env
    if not is_set and not op.endswith("?"):
        out.unset.append(name)  # the value is the default's, unless the deployer sets it
    present = is_set and (env[name] != "" or ":" not in op)
    if op.endswith("-"):
        value = env[name] if present else arg
    elif op.endswith("+"):
        value = arg if present else ""
    else:  # required
        if not present:
            out.missing = f"required variable {name} is missing a value" + \
                (f": {arg}" if arg else "")
            out.unset.append(name)
        value = env.get(name, "")
    return value, end + 1


def read_dotenv(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """A ``.env`` file as compose-go reads the common forms: ``KEY=value``, ``export``,
    comments, single quotes literal, double quotes with escapes, ``${VAR}`` of earlier
    keys in unquoted and double-quoted values, `` #`` comments after unquoted values."""
    values: dict[str, str] = dict(env or {})
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            continue
        value = value.strip()
        try:
            if value[:1] == "'" and "'" in value[1:]:
                value = value[1:value.index("'", 1)]
            elif value[:1] == '"' and '"' in value[1:]:
                body = re.match(r'"((?:[^"\\]|\\.)*)"', value)
                inner = body.group(1) if body else value[1:]
                inner = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1),
                                                                              m.group(1)), inner)
                value = interpolate(inner, values).text
            else:
                value = re.split(r"\s#", value, maxsplit=1)[0].strip()
                value = interpolate(value, values).text
        except TemplateError:
            continue
        values[key] = value
    return values
