"""The containers plugin's files as read: a YAML file's documents up to the first error
(CONF001), and the sniffers that tell a compose file or a Kubernetes manifest from other
YAML.
"""
from __future__ import annotations

import re

from oomaudit.parsers.yamltree import YamlError, load_all
from oomaudit.record import Record


class YamlFile(Record):
    """One YAML file as read: its documents up to the first error (CONF001)."""

    def __init__(self, source: object, documents: list | None = None):
        self.source = source
        self.documents = [] if documents is None else documents

    @property
    def root(self):
        return self.documents[0].root if self.documents else None


def parse_yaml(source) -> YamlFile:
    parsed = YamlFile(source)
    try:
        for document in load_all(source.text):
            parsed.documents.append(document)
    except YamlError as exc:
        hint = ""
        if exc.line and "\t" in (source.lines[exc.line - 1:exc.line] or [""])[0]:
            hint = " (YAML forbids tabs for indentation)"
        source.problem("CONF001", exc.line, f"invalid YAML: {exc.message}{hint}",
                       "fix the YAML; docker compose and kubectl refuse this file",
                       key=source.line_text(exc.line))
    return parsed


def looks_like_compose(head: str) -> bool:
    """A top-level ``services:`` key (GitHub workflows nest theirs under jobs)."""
    return re.search(r"^services:[ \t]*(#.*)?$", head, re.M) is not None


def looks_like_kubernetes(head: str) -> bool:
    return bool(re.search(r"^(- )?apiVersion:[ \t]*\S", head, re.M)
                and re.search(r"^(  |- )?kind:[ \t]*\S", head, re.M))
