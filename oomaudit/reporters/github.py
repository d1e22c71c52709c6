"""GitHub Actions workflow commands: each finding an annotation on its file and line.

``::error file=F,line=N,title=T::MESSAGE``, one line per finding, escaped as GitHub
documents it (and as its runner decodes it): in the message ``%`` ``CR`` ``LF``, in
properties also ``:`` and ``,``. Other control characters are shown as ``\\x1b`` before
that: an annotation's text comes from config files, and the job's log is a terminal.
The summary line follows as plain log text.
"""
from __future__ import annotations

import re

from ..host import printable
from ..model import Severity
from ..report import Report
from .ci import place
from .text import summary

COMMANDS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
            Severity.LOW: "notice", Severity.INFO: "notice"}
# C0 but CR and LF (encoded below), DEL, C1, and the bidirectional overrides
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_DATA = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY = {**_DATA, ":": "%3A", ",": "%2C"}


def _shown(text: str) -> str:
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], printable(text))


def escape_data(text: str) -> str:
    """A command's message, as ``escapeData`` in @actions/core."""
    return "".join(_DATA.get(c, c) for c in _shown(text))


def escape_property(text: str) -> str:
    """A property value (file, title), as ``escapeProperty`` in @actions/core."""
    return "".join(_PROPERTY.get(c, c) for c in _shown(text))


def render(report: Report, color: bool) -> str:
    titles = {rule.id: rule.title for rule in report.rules().values()}
    lines = []
    for host, f in report.findings:
        properties = []
        where = place(report, host, f)
        if where is not None:
            properties.append(f"file={escape_property(where[0])}")
            if where[1]:
                properties.append(f"line={where[1]}")
        title = f"{f.rule} {titles[f.rule]}" if f.rule in titles else f.rule
        properties.append(f"title={escape_property(title)}")
        message = "\n".join([f"{f.message} ({f.severity.label}, host {host})",
                             *(f"evidence: {e}" for e in f.evidence),
                             *([f"fix: {f.fix}"] if f.fix else [])])
        lines.append(f"::{COMMANDS[f.severity]} {','.join(properties)}::{escape_data(message)}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"
