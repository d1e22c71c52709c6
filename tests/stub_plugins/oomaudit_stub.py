"""A tiny third-party-like plugin for the engine's tests: a ``.stub`` format and STUB rules.

It is found through the ``oomaudit`` entry-point group when this folder is on
``PYTHONPATH`` (the ``.dist-info`` next to it declares the entry point), so the
tests drive the real CLI exactly as a pip-installed plugin would be driven.
In-process tests register it with ``load_plugins(extra=[("stub", module)])``.

A ``.stub`` file (or any file whose first line is ``#!stub``) holds one
statement per line; ``#`` starts a comment:

- ``consumer NAME SIZE``: a memory consumer for the ledger (``consumer db 6G``)
- ``warn TEXT``: a STUB001 finding (medium) at that line
- ``crash``: makes STUB002 raise, to test that a rule crash is contained
  (and ``--format stub-crash`` is an output format that always raises)
- ``sleep SECONDS``: reading the file takes that long (a run to interrupt)
- anything else: a CONF001 problem (the reader's syntax error)
"""
from __future__ import annotations

import time

from oomaudit import Evidence, Finding, Reader, Reporter, Rule, Severity, hookimpl, parse_size


def parse(source):
    doc = {"source": source, "consumers": [], "warnings": [], "crash": False}
    for number, raw in enumerate(source.lines, 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "consumer" and len(words) == 3:
            try:
                doc["consumers"].append((words[1], parse_size(words[2]), number))
            except ValueError as exc:
                source.problem("CONF001", number, str(exc))
        elif words[0] == "warn":
            doc["warnings"].append((" ".join(words[1:]), number))
        elif words == ["crash"]:
            doc["crash"] = True
        elif words[0] == "sleep" and len(words) == 2:
            time.sleep(float(words[1]))
        else:
            source.problem("CONF001", number, f"unknown statement {words[0]!r}")
    return doc


def check_warn(host):
    for doc in host.documents("stub"):
        for text, line in doc["warnings"]:
            yield Finding("STUB001", f"stub warning: {text}", doc["source"].display, line,
                          [Evidence(f"warn {text}", f"{doc['source'].display}:{line}")],
                          fix="remove the warn line")


def check_crash(host):
    if any(doc["crash"] for doc in host.documents("stub")):
        raise RuntimeError("stub rule exploded")
    return []


@hookimpl
def oomaudit_readers():
    return [Reader("stub", parse, file_patterns=("*.stub",),
                   sniff=lambda head: head.startswith("#!stub"))]


@hookimpl
def oomaudit_rules():
    return [
        Rule("STUB001", "Stub warning", Severity.MEDIUM, check_warn, fix="remove it"),
        Rule("STUB002", "Stub rule that crashes on 'crash'", Severity.LOW, check_crash),
    ]


@hookimpl
def oomaudit_budget(host):
    for doc in host.documents("stub"):
        for name, nbytes, line in doc["consumers"]:
            host.ledger.add(name, nbytes, f"consumer {name}", f"{doc['source'].display}:{line}",
                            plugin="stub")


def render_crash(report, color: bool) -> str:
    raise ValueError("stub reporter exploded")


def render_pieces(report, color: bool):
    """The text in pieces, as a report too large to hold is given (``output.held``)."""
    yield "findings:\n"
    for host, finding in report.findings:
        yield f"{host} {finding.rule} {finding.path}:{finding.line}\n"


def render_half(report, color: bool):
    yield "a first piece\n"
    raise ValueError("stub reporter exploded halfway")


@hookimpl
def oomaudit_reporters():
    return [Reporter("stub-crash", render_crash), Reporter("stub-pieces", render_pieces),
            Reporter("stub-half", render_half)]
