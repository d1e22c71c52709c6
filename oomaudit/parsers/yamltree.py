"""YAML read safely, with the line of every key and item (compose files, Kubernetes manifests).

PyYAML's safe loader still *expands* aliases: ten anchors of ten aliases each (the
"billion laughs") become 10^9 objects, and a recursive anchor never ends. So we do not
use its constructor: we build the tree from PyYAML's event stream (C parser when
libyaml is there), share an anchored value wherever an alias names it (never copied),
and count each node's *expanded* size as we go, in nodes and in bytes of text. A document
whose expansion passes ``MAX_EXPANDED`` nodes or ``MAX_EXPANDED_BYTES`` (one long string
named by a thousand aliases is few nodes, but every reader that walks the tree would
build gigabytes of text from it), a file of more than ``MAX_NODES`` real nodes, nesting deeper
than ``MAX_DEPTH``, a recursive or undefined alias and a duplicate key are
:class:`YamlError` with a line, as Go's yaml.v3 (docker compose) and kubectl refuse
them. Scalars are typed as PyYAML's YAML 1.1 resolver types them; ``<<`` merge keys
are applied; application tags (``!reset``, ``!override``) are kept beside the value.

One concern: the tree of one YAML stream, built in one pass over its events with the
bounds above. That pass is most of the cost of a compose file or manifest (a fleet's
repository holds hundreds), so it takes the parser's events directly, types only the
scalars a resolver can match, and gives its nodes slots.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ..record import Record

MAX_NODES = 500_000  # real nodes in one file: ~50 MB of Python objects, a few seconds
MAX_EXPANDED = 1_000_000  # nodes of one document once every alias is expanded
MAX_EXPANDED_BYTES = 64 << 20  # text of one document (keys and scalars) likewise: 4 files' cap
MAX_DEPTH = 400  # nothing we read nests deeper; deeper trees would exhaust recursion


class YamlError(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message, self.line = message, line


class Map(dict):
    """A mapping with the line of each key (``lines``), its own line and expanded size;
    ``tags`` holds application tags of values (``!reset``). Slots, set by the builder: a
    manifest has tens of thousands of these, and an attribute dict each doubled the objects
    the garbage collector counts and walks."""

    __slots__ = ("line", "lines", "tags", "weight", "size")
    line: int
    lines: dict
    tags: Mapping  # _NO_TAGS until a value has one
    weight: int
    size: int  # bytes of the text of its keys and scalars, every alias expanded


class Seq(list):
    """A sequence with the line of each item (slots, as :class:`Map`)."""

    __slots__ = ("line", "lines", "tags", "weight", "size")
    line: int
    lines: list
    tags: Mapping
    weight: int
    size: int


_NO_TAGS: Mapping = MappingProxyType({})  # every node's tags until one of its values has one


class Document(Record):
    """One document of a YAML stream: its tree of :class:`Map`, :class:`Seq` and typed scalars
    (None for an empty document)."""

    def __init__(self, root: Any, line: int):
        self.root = root
        self.line = line  # where the document starts (1-based)


_CORE = "tag:yaml.org,2002:"


def line_of(node: Any, key: Any = None, default: int = 0) -> int:
    """The line of ``node[key]`` (or of the node itself), 1-based; ``default`` if unknown."""
    if key is not None and isinstance(node, (Map, Seq)):
        try:
            return node.lines[key]
        except (KeyError, IndexError, TypeError):
            pass
    return getattr(node, "line", 0) or default


class _Builder:
    def __init__(self):
        import yaml
        from yaml.constructor import SafeConstructor
        from yaml.resolver import Resolver

        self.yaml = yaml
        self.resolver = Resolver()
        self.constructor = SafeConstructor()
        # A plain scalar whose first character starts no implicit resolver's pattern is a
        # string (most keys and values: image, memory, mysql:8); the others are typed once
        # per file and text (``typed``), since the same few (1, true, null) recur.
        implicit = Resolver.yaml_implicit_resolvers
        self.typed_starts = None if None in implicit else frozenset(implicit)
        self.typed: dict[str, Any] = {}

    def scalar(self, event) -> tuple[Any, str | None]:
        value, tag = event.value, event.tag
        if tag is None:
            if not event.implicit[0]:
                return value, None  # quoted or a block: the resolver says str
            if self.typed_starts is not None and value and value[0] not in self.typed_starts:
                return value, None
            if value in self.typed:
                return self.typed[value], None
        typed = self._resolve(value, tag, event.implicit)
        if tag is None and typed[1] is None:
            self.typed[value] = typed[0]
        return typed

    def _resolve(self, value: str, tag: str | None, implicit) -> tuple[Any, str | None]:
        if tag in (None, "!"):
            tag = self.resolver.resolve(self.yaml.ScalarNode, value, implicit)
        if not tag.startswith(_CORE):
            return value, tag  # an application tag: the text, and the tag beside it
        if tag == _CORE + "str":
            return value, None
        make = self.constructor.yaml_constructors.get(tag)
        try:
            return (make(self.constructor, self.yaml.ScalarNode(tag, value)) if make
                    else value), None
        except Exception:  # e.g. !!int on text that is no number: keep the text
            return value, None

    def documents(self, text: str) -> Iterator[Document]:
        """Each document of the stream; raises YamlError at the first problem (the
        documents before it have been yielded). One pass over the parser's events, the
        commonest first: a scalar, then a collection's end and start."""
        yaml = self.yaml
        from yaml.events import (
            AliasEvent,
            DocumentEndEvent,
            DocumentStartEvent,
            MappingEndEvent,
            MappingStartEvent,
            ScalarEvent,
            SequenceEndEvent,
            SequenceStartEvent,
        )

        # libyaml also breaks lines at \r, NEL and U+2028/9; oomaudit counts \n only
        # (reading.Source.lines), so in a text with any of those a mark's line comes from
        # its character index, the \n before it (searched for: a fifth of the work if done
        # for every text); in others the lines are the same
        breaks = [m.start() for m in re.finditer("\n", text)] \
            if re.search("[\r\x85\u2028\u2029]", text) else None
        anchors: dict[str, Any] = {}
        stack: list[list] = []  # [container, pending key, key line, anchor, tag]
        root: Any = None
        start, nodes, loader = 1, 0, None
        try:
            # the parser's events as yaml.parse yields them, without its generator's two
            # calls an event (about a sixth of the whole on compose files and manifests);
            # the pure-Python loader reads (and may refuse) the text as it is made
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
            for event in iter(loader.get_event, None):
                kind, mark = event.__class__, event.start_mark
                line = 0 if mark is None else mark.line + 1 if breaks is None \
                    else bisect.bisect_left(breaks, mark.index) + 1
                if kind is ScalarEvent:
                    nodes += 1
                    if nodes > MAX_NODES:
                        raise YamlError(f"more than {MAX_NODES} YAML nodes: not read", line)
                    value, tag_of = self.scalar(event)
                    if event.anchor:
                        anchors[event.anchor] = value
                    weight, size = 1, len(value) if type(value) is str else _size(value)
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    container, _, _, anchor, tag_of = stack.pop()
                    if kind is MappingEndEvent:
                        self._merge(container)
                    if anchor:
                        anchors[anchor] = container
                    value, line, weight, size = container, container.line, \
                        container.weight, container.size
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    nodes += 1
                    if nodes > MAX_NODES:
                        raise YamlError(f"more than {MAX_NODES} YAML nodes: not read", line)
                    if len(stack) >= MAX_DEPTH:
                        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line)
                    container = Map() if kind is MappingStartEvent else Seq()
                    container.line, container.tags, container.weight, container.size = \
                        line, _NO_TAGS, 1, 0
                    container.lines = {} if kind is MappingStartEvent else []
                    tag = event.tag if event.tag and not event.tag.startswith(_CORE) else None
                    stack.append([container, _NOKEY, 0, event.anchor, tag])
                    continue
                elif kind is AliasEvent:
                    if event.anchor not in anchors:
                        open_ = any(frame[3] == event.anchor for frame in stack)
                        raise YamlError(
                            f"alias *{event.anchor} refers to "
                            + ("its own anchor (a recursive alias)" if open_
                               else "an anchor not defined before it"), line)
                    value, tag_of = anchors[event.anchor], None
                    weight, size = getattr(value, "weight", 1), _size(value)
                elif kind is DocumentStartEvent:
                    anchors, root, start = {}, None, line
                    continue
                elif kind is DocumentEndEvent:
                    yield Document(root, start)
                    continue
                else:  # the stream's start and end
                    continue
                if not stack:
                    root = value
                    continue
                self._add(stack[-1], value, tag_of, line, weight, size)
        except yaml.YAMLError as exc:
            raise YamlError(_message(exc), _line(exc, text)) from None
        finally:
            if loader is not None:
                loader.dispose()

    def _add(self, frame: list, value: Any, tag: str | None, line: int, weight: int,
             size: int) -> None:
        container = frame[0]
        if type(container) is Seq:
            container.append(value)
            container.lines.append(line)
            if tag:
                _tag(container, len(container) - 1, tag)
        elif frame[1] is _NOKEY:
            if isinstance(value, (Map, Seq)):
                raise YamlError("a mapping or sequence used as a key", line)
            frame[1], frame[2] = value, line
            return
        else:
            key, key_line = frame[1], frame[2]
            frame[1] = _NOKEY
            if key == "<<" and tag is None:
                container.setdefault("\0merge", []).append(value)
            elif key in container.lines:
                raise YamlError(f"duplicate key {key!r} (first at line "
                                f"{container.lines[key]}): docker compose and kubectl "
                                "refuse the file", key_line)
            else:
                container[key] = value
                container.lines[key] = key_line
                if tag:
                    _tag(container, key, tag)
            size += len(key) if type(key) is str else _size(key)
        container.weight += weight
        container.size += size
        if container.weight > MAX_EXPANDED or container.size > MAX_EXPANDED_BYTES:
            _check_expansion(container, line)

    @staticmethod
    def _merge(mapping: Map) -> None:
        """``<<: *base`` / ``<<: [*a, *b]``: keys not set here come from the merged maps,
        the first one that has them winning, as YAML 1.1's merge key says."""
        sources = mapping.pop("\0merge", None)
        if sources is None:
            return
        flat: list = []
        for source in sources:
            flat.extend(source if isinstance(source, Seq) else [source])
        for source in flat:
            if not isinstance(source, Map):
                raise YamlError("<< merges only mappings", mapping.line)
            for key, value in source.items():
                if key not in mapping:
                    mapping[key] = value
                    mapping.lines[key] = source.lines.get(key, source.line)
                    if key in source.tags:
                        _tag(mapping, key, source.tags[key])
                    mapping.weight += getattr(value, "weight", 1)
                    mapping.size += _size(key) + _size(value)
        _check_expansion(mapping, mapping.line)


_NOKEY = object()


def _tag(container: Map | Seq, key: Any, tag: str) -> None:
    """Record a value's application tag (most nodes have none, and share ``_NO_TAGS``)."""
    if container.tags is _NO_TAGS:
        container.tags = {}
    container.tags[key] = tag


def _size(value: Any) -> int:
    """Bytes a value stands for once expanded: a collection's keys and scalars, a string's
    length, 8 for any other scalar."""
    if isinstance(value, (Map, Seq)):
        return value.size
    return len(value) if isinstance(value, (str, bytes)) else 8


def _check_expansion(container: Map | Seq, line: int) -> None:
    if container.weight > MAX_EXPANDED:
        raise YamlError(f"aliases expand to more than {MAX_EXPANDED} nodes "
                        "(a \"billion laughs\" document): not read", line)
    if container.size > MAX_EXPANDED_BYTES:
        raise YamlError(f"aliases expand to more than {MAX_EXPANDED_BYTES >> 20} MiB of text "
                        "(a long string repeated by aliases): not read", line)


def _message(exc) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        return f"{context} {problem}".strip() if context else str(problem)
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _line(exc, text: str) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return text.count("\n", 0, mark.index) + 1
    position = getattr(exc, "position", None)  # ReaderError: an offset into the bytes
    if isinstance(position, int):
        return text.encode("utf-8", "replace")[:position].count(b"\n") + 1
    return None


def load_all(text: str) -> Iterator[Document]:
    """The documents of a YAML stream; raises :class:`YamlError` where reading stops."""
    yield from _Builder().documents(text)
