"""The compose tree as docker compose ends up with it: every scalar interpolated and
located (a ``Leaf`` with its file and line), and merged by compose's rules.

Merging (compose-spec 13-merge.md): mappings merge key by key, sequences append,
``command``, ``entrypoint`` and ``healthcheck.test`` are replaced, ``volumes`` are unique
by target, ``environment`` merges by name; ``!reset`` removes and ``!override`` replaces.
"""
from __future__ import annotations

from typing import Any

from .. import shellwords
from ..record import Record
from .compose_interpolation import TemplateError, interpolate
from .yamltree import Map, Seq

REPLACED = ("command", "entrypoint", "test")  # test: healthcheck.test


class Leaf(Record):
    """One scalar value as compose ends up with it, and where it was written."""

    # Read-only by convention. Not a NamedTuple: tree values that should be lists are
    # iterated (``volumes``), and a tuple would iterate where a scalar raises.

    def __init__(self, value: Any, path: str, line: int, raw: Any = None,
                 unset: tuple[str, ...] = (), missing: str = ""):
        self.value = value
        self.path = path  # display path of the file
        self.line = line
        self.raw = raw  # as written, before interpolation
        self.unset = unset
        self.missing = missing

    __eq__ = Record.same_content

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def text(self) -> str:
        return "" if self.value is None else str(self.value)


RESET = object()


class Override(Record):
    """A value tagged ``!override``: :func:`merge` puts it in place of the base value instead
    of merging the two."""

    def __init__(self, value: Any):
        self.value = value


class Problem(Exception):
    """A problem compose stops at; the plugin turns it into CONF001/CONF002."""

    def __init__(self, rule: str, message: str, path: str, line: int | None, key: str = ""):
        super().__init__(message)
        self.rule, self.message, self.path, self.line = rule, message, path, line
        self.key = key  # what it is about: the service (see oomaudit.Finding.key)


def locate(node: Any, path: str, line: int, env: dict[str, str], tag: str | None = None,
           key: str = "") -> Any:
    """The YAML subtree with every scalar interpolated and located; lists of
    ``environment``/``labels`` become mappings, as compose reads them."""
    if tag == "!reset":
        return RESET
    if tag == "!override":
        return Override(locate(node, path, line, env, None, key))
    if isinstance(node, Map):
        return {k: locate(v, path, node.lines.get(k, node.line), env, node.tags.get(k), k)
                for k, v in node.items()}
    if isinstance(node, Seq):
        items = [locate(v, path, node.lines[i], env, node.tags.get(i))
                 for i, v in enumerate(node)]
        if key in ("environment", "labels", "args", "annotations"):
            return _pairs(items)
        return items
    if isinstance(node, str):
        try:
            done = interpolate(node, env)
        except TemplateError as exc:
            raise Problem("CONF001", str(exc), path, line) from None
        return Leaf(done.text, path, line, node, tuple(done.unset), done.missing)
    return Leaf(node, path, line, node)


def _pairs(items: list) -> dict:
    """``["KEY=value", "FLAG"]`` -> ``{KEY: value, FLAG: None}``."""
    result: dict = {}
    for item in items:
        if isinstance(item, Leaf):
            name, sep, value = item.text().partition("=")
            result[name] = Leaf(value if sep else None, item.path, item.line, item.raw,
                                item.unset, item.missing)
    return result


def merge(base: Any, over: Any, key: str = "") -> Any:
    """``over`` merged onto ``base`` by compose's rules (13-merge.md)."""
    if over is RESET:
        return RESET
    if isinstance(over, Override):
        return over.value
    if isinstance(base, dict) and isinstance(over, dict):
        result = dict(base)
        for k, v in over.items():
            merged = merge(result[k], v, k) if k in result else _plain(v)
            if merged is RESET:
                result.pop(k, None)
            else:
                result[k] = merged
        return result
    if key in REPLACED:
        return over
    if isinstance(base, list) and isinstance(over, list):
        if key == "volumes":
            targets = {mount_target(v): i for i, v in enumerate(base)}
            result = list(base)
            for v in over:
                target = mount_target(v)
                if target is not None and target in targets:
                    result[targets[target]] = v
                else:
                    result.append(v)
            return result
        return base + over
    return _plain(over)


def _plain(value: Any) -> Any:
    if isinstance(value, Override):
        return value.value
    return value


def mount_target(volume: Any) -> str | None:
    """The container path of a volume (short ``src:dst[:mode]`` or long syntax)."""
    if isinstance(volume, dict):
        target = volume.get("target")
        return target.text() if isinstance(target, Leaf) else None
    if isinstance(volume, Leaf):
        parts = volume.text().split(":")
        if len(parts) == 1:
            return parts[0]
        return parts[1]
    return None


def mount_source(volume: Any) -> Leaf | None:
    """The host side of a bind mount (``./my.cnf:/etc/mysql/conf.d/my.cnf``), or None for
    a named volume or an anonymous one."""
    if isinstance(volume, dict):
        if getattr(volume.get("type"), "value", "bind") != "bind":
            return None
        source = volume.get("source")
        return source if isinstance(source, Leaf) else None
    if isinstance(volume, Leaf):
        parts = volume.text().split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
            return Leaf(parts[0], volume.path, volume.line, volume.raw, volume.unset)
    return None


def argv(value: Any) -> list[Leaf]:
    """``command``/``entrypoint`` as the argument list compose passes: a string is split
    like a shell (shellwords), a list is taken as is."""
    if isinstance(value, Leaf):
        try:
            words = shellwords.split(value.text())
        except ValueError:
            words = value.text().split()
        return [Leaf(w, value.path, value.line, value.raw, value.unset) for w in words]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Leaf)]
    return []
