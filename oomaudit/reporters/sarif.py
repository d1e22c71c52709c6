"""SARIF 2.1.0 for GitHub code scanning and any other SARIF reader.

One run: a ``reportingDescriptor`` per rule checked (its catalogue words as help), a result
per finding with its fingerprint as ``partialFingerprints``, located by a path relative to
``%SRCROOT%`` (the root fingerprints use: the repository, or the tree) and, always, on a
logical location naming the host. A finding about the host as a whole is placed where
``ci.place`` puts it: code scanning fails the whole upload when one result has no file
("locationFromSarifResult: expected artifact location"). A scanned host without a config
leaves such a finding on the host alone: valid SARIF, but not for code scanning, which is
meant for ``check`` of a repository.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from .. import fingerprint
from ..host import printable
from ..jsonout import dumps
from ..model import Severity
from ..report import SKIPPED, Report
from .ci import place

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
# GitHub's scale: above 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. An info
# rule gets none: its results stay quality notes, not security alerts.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0"}
_DESCRIPTION_LIMIT = 1024  # GitHub cuts fullDescription there


def render(report: Report, color: bool) -> str:
    rules = report.rules()
    index = {rule_id: n for n, rule_id in enumerate(rules)}
    worst: dict[str, Severity] = {}
    for _, f in report.findings:
        worst[f.rule] = max(worst.get(f.rule, f.severity), f.severity)
    bases: dict[Path, str] = {}  # root -> its uriBaseId (one per run in practice)
    results = [_result(report, host, f, index, bases) for host, f in report.findings]
    run = {
        "tool": {"driver": {
            "name": "oomaudit", "version": report.version,
            "rules": [_descriptor(rule, worst.get(rule.id, rule.severity))
                      for rule in rules.values()]}},
        "invocations": [_invocation(report, index)],
        "originalUriBaseIds": {
            base: {"uri": _folder_uri(root),
                   "description": {"text": "what result paths are relative to: the "
                                           "repository (check) or the audited tree (scan)"}}
            for root, base in bases.items()},
        "results": results,
    }
    return dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})


def _folder_uri(root: Path) -> str:
    """``file:///repo/``: SARIF wants a base URI to end with "/" (``file:///`` already does).
    A name that is not UTF-8 is percent-encoded byte for byte, as the file system has it."""
    uri = root.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _descriptor(rule, severity: Severity) -> dict:
    """A rule as code scanning shows it beside each alert. ``severity`` is the worst its
    findings had in this run (a config's override, HOST002 past RAM + swap), else its own."""
    rationale = rule.rationale.strip()
    first = rationale.split("\n\n", 1)[0].replace("\n", " ") or rule.title
    if len(first) > _DESCRIPTION_LIMIT:
        first = first[:_DESCRIPTION_LIMIT - 1].rsplit(" ", 1)[0] + "\u2026"
    help_text = "\n\n".join(part for part in (rationale, f"Fix:\n{rule.fix.strip()}"
                                              if rule.fix.strip() else "") if part)
    # An OOM kill takes a service down: an availability risk, so tagged "security", the tag
    # GitHub reads security-severity for.
    tags = ["reliability", "oom", rule.plugin]
    properties: dict = {"tags": tags}
    if severity in SECURITY_SEVERITY:
        tags.insert(0, "security")
        properties["security-severity"] = SECURITY_SEVERITY[severity]
    descriptor = {
        "id": rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": first},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "help": {"text": help_text or rule.title},
        "properties": properties,
    }
    # helpUri: the rule's own words travel in help.text, which GitHub shows beside the alert,
    # and oomaudit has no published docs site (the README's repository URL is a
    # placeholder), so a link to one would be dead. The rule's first reference is the
    # documentation of the setting it judges (mysqld's, the kernel's, systemd's): stable,
    # and where a reader goes next.
    if rule.references:
        descriptor["helpUri"] = rule.references[0]
    return descriptor


def _result(report: Report, host: str, f, index: dict[str, int], bases: dict) -> dict:
    text = "\n".join([f.message, *(f"evidence: {e}" for e in f.evidence),
                      *([f"fix: {f.fix}"] if f.fix else [])])
    location: dict = {}
    where = place(report, host, f)
    if where is not None:
        path, line = where
        path = printable(path)  # a config's name with bytes that are not UTF-8
        artifact: dict
        if path.startswith("/"):  # outside the root: an absolute file URI
            artifact = {"uri": Path(path).as_uri()}
        else:
            root = report.roots[host][0]
            artifact = {"uri": quote(path),
                        "uriBaseId": bases.setdefault(root, f"%SRCROOT{len(bases) or ''}%")}
        physical: dict = {"artifactLocation": artifact}
        if line:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    location["logicalLocations"] = [{"name": host, "kind": "host"}]
    result = {
        "ruleId": f.rule,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {fingerprint.VERSION: f.fingerprint},
        "properties": {"severity": f.severity.label, "host": host},
    }
    if f.rule in index:
        result["ruleIndex"] = index[f.rule]
    return result


def _invocation(report: Report, index: dict[str, int]) -> dict:
    """Whether the run worked, and what it said besides findings: errors, notices, and
    the rules that could not run (a fact unknown), each tied to its rule."""
    notes = [{"level": "error", "message": {"text": e}} for e in report.errors]
    notes += [{"level": "note", "message": {"text": n}} for n in report.notices]
    skipped = dict.fromkeys((r.rule.id, r.detail) for r in report.runs if r.status == SKIPPED)
    notes += [{"level": "note", "message": {"text": f"{rule} skipped: {why}"},
               "associatedRule": {"id": rule, "index": index[rule]}} for rule, why in skipped]
    return {"executionSuccessful": not report.errors, "exitCode": report.exit_code(),
            "toolExecutionNotifications": notes}
