"""JSON as oomaudit writes it: the report, the budget, a diff, facts, a baseline, SARIF,
GitLab's code quality, the fleet view and the kernel-log view.

Strict UTF-8, so that every consumer accepts it (jq, GitHub's and GitLab's uploads, Go's
and Rust's decoders): non-ASCII text as itself, never a lone surrogate, no byte order mark
(GitLab refuses one). A file name that is not UTF-8 reaches Python with its undecodable
bytes as lone surrogates (``\\udcff``); in JSON each such byte is U+FFFD, the one way
oomaudit shows them everywhere (``host.printable``). Control characters are JSON's own
``\\u001b`` escapes: a consumer that prints a string escapes it for its terminal.
"""
from __future__ import annotations

import io
import json

from .host import printable
from .jsonindent import chunks


def encode(document: object, indent: int | None = 2) -> str:
    """``document`` as strict UTF-8 JSON text, without a final newline. Indented, it is
    written chunk by chunk into one buffer: ``json.dumps`` joins a list of every chunk
    (Python's encoder yields several per value), which for a fleet's report of 130,000 rule
    runs held more memory than the report itself. ``indent=None`` is one line, by json's C
    encoder, which indents nothing: a fleet of 10,000 hosts, or a log's event per line."""
    if indent is None:
        return printable(json.JSONEncoder(ensure_ascii=False).encode(document))
    buffer = io.StringIO()
    buffer.writelines(chunks(document, indent))  # json's indented text, a third faster
    return printable(buffer.getvalue())


def dumps(document: object, indent: int | None = 2) -> str:
    """``document`` as a JSON file's text (``encode``), ending with a newline."""
    return encode(document, indent) + "\n"


def pieces(document: object):
    """``dumps``'s text in pieces as the encoder makes them, for a report written as it is
    made (``output.held``). Each piece holds whole strings, so each is made printable on
    its own. ``Listed`` values in ``document`` make their items here, one at a time."""
    for piece in chunks(document, 2):
        yield printable(piece)
    yield "\n"


class Listed(list):
    """A JSON array whose items are made as the encoder writes them: ``make(item)`` for each
    of ``items``. A fleet's report has 1.4 million rule runs at 100,000 files, which as
    dicts held 650 MiB. The indented writer (``jsonindent``, as ``pieces`` and ``dumps`` use
    it) reads a list through ``len`` and iteration; json's C encoder, without indent, would
    read the empty list underneath."""

    def __init__(self, items, make):
        super().__init__()
        self.items, self.make = items, make

    def __iter__(self):
        return map(self.make, self.items)

    def __len__(self) -> int:
        return len(self.items)
