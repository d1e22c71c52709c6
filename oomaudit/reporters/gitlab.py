"""GitLab Code Quality: the part of the Code Climate format GitLab reads, one entry per finding.

GitLab matches entries across pipelines by ``fingerprint`` (the finding's, so a moved line
or a changed value stays the same entry) and drops all but the first of equal ones (the
engine numbers a repeat ``#2``). It requires a path and a line for every entry: a finding
without a line is put on line 1 of its file, one without a file where ``ci.place`` puts
it, and a host that has no file at all is named in place of a path.
"""
from __future__ import annotations

from ..jsonout import dumps
from ..model import Severity
from ..report import Report
from .ci import place

SEVERITIES = {Severity.CRITICAL: "blocker", Severity.HIGH: "critical", Severity.MEDIUM: "major",
              Severity.LOW: "minor", Severity.INFO: "info"}


def render(report: Report, color: bool) -> str:
    labels = {h.name: h.label for h in report.hosts}
    entries = []
    for host, f in report.findings:
        path, line = place(report, host, f) or (labels.get(host, host), None)
        entries.append({
            "description": f"{f.rule} {f.message}",
            "check_name": f.rule,
            "fingerprint": f.fingerprint,
            "severity": SEVERITIES[f.severity],
            "location": {"path": path, "lines": {"begin": line or 1}},
        })
    return dumps(entries)
