"""The JSON report. Its shape is ``oomaudit/report.schema.json``; bump SCHEMA_VERSION
on any change a consumer could notice."""
from __future__ import annotations

import time
from json.encoder import encode_basestring

from ..jsonindent import Written
from ..jsonout import Listed, pieces
from ..report import SKIPPED, Report

SCHEMA_VERSION = 2


def _scalar(value):
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _made(items, make) -> list:
    return [make(item) for item in items]


def as_dict(report: Report, listed=_made) -> dict:
    """The report as JSON's values. ``listed(items, make)`` makes its long arrays (hosts,
    findings, rule runs): lists here, ``jsonout.Listed`` as ``render`` writes them."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "oomaudit", "version": report.version},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": report.command,
        "target": report.target,
        "fail_on": report.fail_on.label,
        "hosts": listed(report.hosts, _host),
        "findings": listed(report.findings, _finding),
        "rules": listed(report.runs, _run),
        "errors": list(report.errors),
        "notices": list(report.notices),
        "summary": {
            "findings": len(report.findings),
            "by_severity": report.counts(),
            "failing": len(report.failing()),
            "suppressed": report.suppressed,
            "baselined": report.baselined,
            "rules_checked": len({r.rule.id for r in report.runs}),
            "rules_skipped": len({r.rule.id for r in report.runs if r.status == SKIPPED}),
            "exit_code": report.exit_code(),
        },
    }


def _host(h) -> dict:
    return {
        "name": h.name, "mode": h.mode, "label": h.label,
        "facts": {k: {"value": _scalar(v), "source": src} for k, (v, src) in h.facts.items()},
        "ledger": h.ledger,
        "tables": {name: {"title": t.title, "columns": t.columns,
                          "rows": [[_scalar(v) for v in row] for row in t.rows]}
                   for name, t in h.tables.items()},
    }


def _finding(hf) -> dict:
    host, f = hf
    return {
        "rule": f.rule, "severity": f.severity.label, "message": f.message, "host": host,
        "path": f.path, "line": f.line,
        "evidence": [{"what": e.what, "source": e.source} for e in f.evidence],
        "fix": f.fix, "plugin": f.plugin, "docs": f.docs, "fingerprint": f.fingerprint,
    }


def _run(r) -> dict:
    return {"rule": r.rule.id, "plugin": r.rule.plugin, "host": r.host, "status": r.status,
            "detail": r.detail}


class _RunText:
    """A rule run as the indented writer writes ``_run``'s dict (``jsonindent.Written``),
    its rule's two lines made once per rule: the runs are 60% of a fleet's report (130,000
    at 10,000 files), and as dicts written value by value they took 0.35 s of CPU where
    this takes 0.1 s. tests/reporters/test_json_runs.py holds it to the writer."""

    def __init__(self):
        self.heads: dict[int, str] = {}  # id(rule) -> its "rule" and "plugin" lines

    def __call__(self, r) -> Written:
        head = self.heads.get(id(r.rule))
        if head is None:
            head = self.heads[id(r.rule)] = (
                f'{{\n      "rule": {encode_basestring(r.rule.id)},\n      "plugin": '
                f'{encode_basestring(r.rule.plugin)},\n      "host": ')
        return Written(f'{head}{encode_basestring(r.host)},\n      "status": '
                       f'{encode_basestring(r.status)},\n      "detail": '
                       f'{encode_basestring(r.detail)}\n    }}')


def render(report: Report, color: bool):
    """The text in pieces, written as they are made (``output.held``): a fleet's report
    of 100,000 files is hundreds of MiB of JSON."""
    document = as_dict(report, Listed)
    document["rules"] = Listed(report.runs, _RunText())
    return pieces(document)
