"""JSON as oomaudit writes it: the report, the budget, a diff, facts, a baseline, SARIF and
GitLab's code quality.

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


def dumps(document: object) -> str:
    """``document`` as strict UTF-8 JSON text, indented, ending with a newline. Written
    chunk by chunk into one buffer: ``json.dumps`` joins a list of every chunk (indented,
    Python's encoder yields several per value), which for a fleet's report of 130,000 rule
    runs held more memory than the report itself."""
    buffer = io.StringIO()
    buffer.writelines(json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(document))
    return printable(buffer.getvalue()) + "\n"
