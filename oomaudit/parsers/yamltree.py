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
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
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
    ``tags`` holds application tags of values (``!reset``)."""

    line: int = 0
    lines: dict
    tags: dict
    weight: int = 1
    size: int = 0  # bytes of the text of its keys and scalars, every alias expanded


class Seq(list):
    """A sequence with the line of each item."""

    line: int = 0
    lines: list
    tags: dict
    weight: int = 1
    size: int = 0


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
        self.nodes = 0

    def scalar(self, event) -> tuple[Any, str | None]:
        value, tag = event.value, event.tag
        if tag in (None, "!"):
            tag = self.resolver.resolve(self.yaml.ScalarNode, value, event.implicit)
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
        documents before it have been yielded)."""
        yaml = self.yaml
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        events = yaml.parse(text, Loader=loader)
        # libyaml also breaks lines at \r, NEL and U+2028/9; oomaudit counts \n only
        # (reading.Source.lines), so a mark's line comes from its character index
        breaks = [m.start() for m in re.finditer("\n", text)]
        anchors: dict[str, Any] = {}
        stack: list[list] = []  # [container, pending key, key line, anchor, tag]
        root: Any = None
        start = 1
        try:
            for event in events:
                kind = type(event).__name__
                line = bisect.bisect_left(breaks, event.start_mark.index) + 1 \
                    if event.start_mark else 0
                if kind == "DocumentStartEvent":
                    anchors, root, start = {}, None, line
                    continue
                if kind == "DocumentEndEvent":
                    yield Document(root, start)
                    continue
                if kind in ("StreamStartEvent", "StreamEndEvent"):
                    continue
                if kind in ("MappingEndEvent", "SequenceEndEvent"):
                    container, _, _, anchor, tag = stack.pop()
                    if isinstance(container, Map):
                        self._merge(container)
                    if anchor:
                        anchors[anchor] = container
                    value, tag_of, line = container, tag, container.line
                elif kind == "AliasEvent":
                    if event.anchor not in anchors:
                        open_ = any(frame[3] == event.anchor for frame in stack)
                        raise YamlError(
                            f"alias *{event.anchor} refers to "
                            + ("its own anchor (a recursive alias)" if open_
                               else "an anchor not defined before it"), line)
                    value, tag_of = anchors[event.anchor], None
                elif kind == "ScalarEvent":
                    self._count(line)
                    value, tag_of = self.scalar(event)
                    if event.anchor:
                        anchors[event.anchor] = value
                else:  # a collection starts
                    self._count(line)
                    if len(stack) >= MAX_DEPTH:
                        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line)
                    container = Map() if kind == "MappingStartEvent" else Seq()
                    container.line, container.tags = line, {}
                    container.lines = {} if isinstance(container, Map) else []
                    tag = event.tag if event.tag and not event.tag.startswith(_CORE) else None
                    stack.append([container, _NOKEY, 0, event.anchor, tag])
                    continue
                if not stack:
                    root = value
                    continue
                self._add(stack[-1], value, tag_of, line)
        except yaml.YAMLError as exc:
            raise YamlError(_message(exc), _line(exc, text, breaks)) from None

    def _count(self, line: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlError(f"more than {MAX_NODES} YAML nodes: not read", line)

    def _add(self, frame: list, value: Any, tag: str | None, line: int) -> None:
        container = frame[0]
        weight, size = getattr(value, "weight", 1), _size(value)
        if isinstance(container, Seq):
            container.append(value)
            container.lines.append(line)
            if tag:
                container.tags[len(container) - 1] = tag
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
                    container.tags[key] = tag
            size += _size(key)
        container.weight += weight
        container.size += size
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
                        mapping.tags[key] = source.tags[key]
                    mapping.weight += getattr(value, "weight", 1)
                    mapping.size += _size(key) + _size(value)
        _check_expansion(mapping, mapping.line)


_NOKEY = object()


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


def _line(exc, text: str, breaks: list[int]) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return bisect.bisect_left(breaks, mark.index) + 1
    position = getattr(exc, "position", None)  # ReaderError: an offset into the bytes
    if isinstance(position, int):
        return text.encode("utf-8", "replace")[:position].count(b"\n") + 1
    return None


def load_all(text: str) -> Iterator[Document]:
    """The documents of a YAML stream; raises :class:`YamlError` where reading stops."""
    yield from _Builder().documents(text)
