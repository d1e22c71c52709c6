"""The entry points of one group, found the way ``importlib.metadata`` finds them.

``importlib.metadata`` imports email, zipfile, csv and more, which cost a
pre-commit run on one file as much as everything else it does. For the usual
layout (``*.dist-info`` and ``*.egg-info`` folders on ``sys.path``) this module
reads the same ``entry_points.txt`` files with the same rules: ``sys.path`` order,
the first distribution of a (normalized) name wins, sections and ``name = value``
lines as ``importlib.metadata.Sectioned`` parses them (only ``#`` starts a comment).
Anything else on the path (a zip file, an ``.egg``) hands the search to
``importlib.metadata`` itself.
A test compares the two on the real environment and on made-up layouts.
"""
from __future__ import annotations

import os
import re
import sys
from importlib import import_module
from typing import Any, NamedTuple

_NORMALIZE = re.compile(r"[-_.]+")
# importlib.metadata.EntryPoint.pattern
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class EntryPoint(NamedTuple):
    name: str
    value: str
    group: str

    def load(self) -> Any:
        """The object the entry point names (``module`` or ``module:attr``)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"{self.value!r} is not 'module' or 'module:attr'")
        target: Any = import_module(match.group("module"))
        for part in (match.group("attr") or "").split(".") if match.group("attr") else ():
            target = getattr(target, part)
        return target


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of ``group`` in the distributions found on ``sys.path``."""
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            children = os.listdir(folder or ".")
        except OSError:
            if os.path.exists(folder or "."):  # a zip archive: not ours to read
                return _from_importlib(group)
            continue
        if folder.lower().endswith(".egg"):
            return _from_importlib(group)
        infos: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                name = low.rpartition(".")[0].partition("-")[0]
                infos.setdefault(_normalize(name), []).append(child)
        for name, dists in infos.items():
            if name in seen:
                continue
            seen.add(name)
            text = _read(os.path.join(folder, dists[0], "entry_points.txt"))
            found.extend(EntryPoint(k, v, group) for k, v in _section(text, group))
    return found


def _normalize(name: str) -> str:
    return _NORMALIZE.sub("-", name).lower().replace("-", "_")


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _section(text: str, group: str):
    """(name, value) pairs of ``[group]`` in an entry_points.txt."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        name, eq, value = line.partition("=")
        if section == group and eq:
            yield name.strip(), value.strip()


def _from_importlib(group: str) -> list[EntryPoint]:
    from importlib import metadata

    eps = metadata.entry_points()
    selected = eps.select(group=group) if hasattr(eps, "select") else eps.get(group, [])
    return [EntryPoint(ep.name, ep.value, group) for ep in selected]
