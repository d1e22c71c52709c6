"""Baselines: adopting oomaudit where findings already are.

``--write-baseline FILE`` records every finding of a run by its fingerprint in a small JSON
file meant to be committed, sorted by path, rule and fingerprint so that a rewrite diffs
only where findings came or went. ``--baseline FILE`` (or ``baseline =`` in the config)
hides the findings it lists and counts them; an entry that matches no finding any more is
a notice, like an unused suppression, so the file shrinks as the debt is paid. A new
finding is not in the file and fails the run as before.

Imported only when a baseline is in use (``oomaudit/report.schema.json``'s
``summary.baselined`` is 0 otherwise); the file's shape is ``baseline.schema.json``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .confine import JAIL, LIVE, Tree
from .errors import UsageError
from .fingerprint import relative
from .host import terminal
from .jsonout import dumps
from .report import FAILED, PASSED, Report

SCHEMA_VERSION = 1
KIND = "oomaudit baseline"
MESSAGE_CHARS = 120  # the message is for the reviewer of the file, not for matching
MAX_BYTES = 64 << 20


def settle(report: Report, settings, given: str | None, written: str | None,
           targets: list[str] | None, jail: Path | None = None) -> None:
    """Write (``--write-baseline``) and apply the run's baseline: ``written``, else
    ``--baseline``, else the config's ``baseline =``. ``targets``: what ``check`` was
    given (None for ``scan``); ``jail``: the repository ``check`` confines its reads to,
    where a repository config's baseline is read as any file of it is (never through a
    link out of it)."""
    if written:
        from .output import write

        text = render(report)
        write(text, written, "--write-baseline")
        entries = json.loads(text)["findings"]
        report.notices.append(f"{terminal(written)}: baseline of {len(entries)} finding"
                              f"{'s' * (len(entries) != 1)} written")
        apply(report, entries, terminal(written), targets)
        return
    if given:
        path, named = Path(given), f"--baseline {given}"
        fs = Tree(Path("/"), LIVE, MAX_BYTES)  # the operator's: not blocking, regular
    else:
        from .config import location

        path = settings.baseline
        named = f"{location(settings.path, 'baseline')}: baseline {path}"
        fs = Tree(jail, JAIL, MAX_BYTES) if jail else Tree(Path("/"), LIVE, MAX_BYTES)
    apply(report, load(path, named, fs), terminal(str(path)), targets)


def render(report: Report) -> str:
    """The baseline of ``report``'s findings: schema version, tool version, and per finding
    its fingerprint with what a reviewer needs to recognise it (rule, host, the path from
    the repository or tree root, the message cut short)."""
    entries = []
    for host, finding in report.findings:
        root, cwd = report.roots[host]
        message = finding.message
        if len(message) > MESSAGE_CHARS:
            message = message[:MESSAGE_CHARS - 3].rstrip() + "..."
        entries.append({"fingerprint": finding.fingerprint, "rule": finding.rule, "host": host,
                        "path": relative(finding.path, root, cwd), "message": message})
    entries.sort(key=lambda e: (e["path"], e["rule"], e["host"], e["fingerprint"]))
    document = {"schema_version": SCHEMA_VERSION, "kind": KIND,
                "tool": {"name": "oomaudit", "version": report.version}, "findings": entries}
    return dumps(document)


def load(path: Path, named: str, fs: Tree) -> list[dict]:
    """The entries of a baseline file, read through ``fs`` (without blocking on a FIFO,
    regular files only, at most ``MAX_BYTES``); anything else is one UsageError naming it."""
    try:
        data = fs.read(path)
    except FileNotFoundError:
        raise UsageError(f"{terminal(named)}: no such file (write one with "
                         "--write-baseline FILE)") from None
    except OSError as exc:
        raise UsageError(f"{terminal(named)}: {exc.strerror or exc}") from None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
        raise UsageError(f"{terminal(named)}: not an oomaudit baseline: invalid JSON "
                         f"({terminal(str(exc))[:100]})") from None
    problem = _malformed(document)
    if problem:
        raise UsageError(f"{terminal(named)}: not an oomaudit baseline: {problem}")
    return document["findings"]


def _malformed(document: object) -> str | None:
    if not isinstance(document, dict) or document.get("kind") != KIND:
        return f"no \"kind\": \"{KIND}\" (write one with --write-baseline)"
    version = document.get("schema_version")
    if type(version) is not int or version < 1:
        return "schema_version is no positive integer"
    if version > SCHEMA_VERSION:
        return (f"schema_version {version} is newer than this oomaudit reads "
                f"({SCHEMA_VERSION}): upgrade oomaudit")
    entries = document.get("findings")
    if not isinstance(entries, list):
        return "\"findings\" is no list"
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), str) for k in ("fingerprint", "rule", "host", "path")):
            return (f"findings[{number - 1}] has no fingerprint, rule, host and path as "
                    "strings")
    return None


def apply(report: Report, entries: list[dict], shown: str,
          targets: list[str] | None = None) -> None:
    """Hide the findings ``entries`` list; an entry that matches none, for a file and rule
    this run audited, is a notice naming it (``shown``: the file, escaped for a terminal,
    as what comes from it is)."""
    listed = {e["fingerprint"] for e in entries}
    kept = [(host, f) for host, f in report.findings if f.fingerprint not in listed]
    report.baselined += len(report.findings) - len(kept)
    found = {f.fingerprint for _, f in report.findings}
    report.findings = kept
    audited = _Audited(report, targets)
    for entry in entries:
        if entry["fingerprint"] in found or (entry["host"], entry["rule"], entry["path"]) \
                not in audited:
            continue
        where = entry["path"] or f"host {entry['host']}"
        report.notices.append(
            f"{shown}: unused baseline entry {terminal(entry['rule'])} {terminal(where)} "
            f"({entry['fingerprint'][:12]}): no such finding any more; remove it, or rewrite "
            "the file with --write-baseline")


class _Audited:
    """Whether this run could have found an entry's finding: its host was audited, its
    rule ran there (not skipped, not unselected, not crashed) and, for a finding in a file,
    the file was read; for one about the host as a whole, the whole host was audited (a
    tree, the live host, or a ``check`` of the repository's root). A pre-commit run on the
    staged files, or one with --select, calls nothing outside what it looked at stale."""

    def __init__(self, report: Report, targets: list[str] | None):
        self.rules = {(r.host, r.rule.id) for r in report.runs
                      if r.status == FAILED or (r.status == PASSED and not r.detail)}
        self.files: dict[str, set[str]] = {name: set() for name in report.roots}
        for f in report.read:
            self.files[f.host].add(relative(f.display, *report.roots[f.host]))
        given = [Path(os.path.abspath(t)) for t in targets or ()]
        self.whole = {name for name, (root, _) in report.roots.items()
                      if targets is None or any(Path(root).is_relative_to(t) for t in given)}

    def __contains__(self, what: tuple[str, str, str]) -> bool:
        host, rule, path = what
        return (host, rule) in self.rules and (
            path in self.files.get(host, ()) if path else host in self.whole)
