"""``path:line: RULE severity message``, evidence and fix indented below, then a summary.

Every text that can come from an audited file, a file name or a log (messages, evidence,
fixes, tables, notices, errors) goes through ``host.terminal`` on its way out: a compose
service named ``"\x1b[2J"`` is shown as that text, never run by the operator's terminal.
"""
from __future__ import annotations

from ..host import terminal
from ..report import Report

_COLORS = {"critical": "\033[1;35m", "high": "\033[1;31m", "medium": "\033[33m",
           "low": "\033[36m", "info": "\033[2m"}
_RESET, _BOLD, _DIM = "\033[0m", "\033[1m", "\033[2m"


def render(report: Report, color: bool) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    labels = {h.name: h.label for h in report.hosts}
    lines = _statistics(report, paint) if report.statistics else []
    for host, f in [] if report.statistics else report.findings:
        where = terminal(f.location if f.path else labels.get(host, host))
        sev = f.severity.label
        lines.append(f"{paint(where, _BOLD)}: {paint(terminal(f.rule), _BOLD)} "
                     f"{paint(sev, _COLORS[sev])} {terminal(f.message)}")
        lines.extend(f"    evidence: {terminal(str(e))}" for e in f.evidence)
        if f.fix:
            first, *rest = map(terminal, f.fix.splitlines())
            lines.append(f"    fix: {first}")
            lines.extend(f"         {r}" for r in rest)
    if not report.quiet:  # --quiet: findings and the summary only
        for h in report.hosts:
            for table in h.tables.values():
                lines.extend(["", terminal(f"{table.title} ({h.label}):"), *_grid(table)])
        if any(f.rule == "HOST002" for _, f in report.findings):  # its bar, past RAM's end
            from .budget import overflows
            lines.extend(overflows(report, color))
    notes = [] if report.quiet else list(report.notices) + _skipped(report)
    if lines and notes:
        lines.append("")
    lines.extend(paint(f"notice: {terminal(n)}", _DIM) for n in notes)
    lines.extend(f"error: {terminal(e)}" for e in report.errors)
    if lines:
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _skipped(report: Report) -> list[str]:
    """One notice per reason, naming every rule skipped for it: with the RAM unknown a
    dozen rules skip for one reason, which is one thing to fix."""
    rules: dict[str, set[str]] = {}
    for run in report.runs:
        if run.status == "skipped":
            rules.setdefault(run.detail, set()).add(run.rule.id)
    return sorted(f"{', '.join(sorted(ids))} skipped: {why}" for why, ids in rules.items())


def _statistics(report: Report, paint) -> list[str]:
    """--statistics, as ruff's: how many findings each rule made (per severity, since a
    config may change one's), the most first, instead of the findings themselves."""
    counts: dict[tuple[str, str], int] = {}
    for _, f in report.findings:
        key = (f.rule, f.severity.label)
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return []
    titles = {run.rule.id: run.rule.title for run in report.runs}
    digits = len(str(max(counts.values())))
    ids = max(len(rule) for rule, _ in counts)
    return [f"{n:>{digits}}  {paint(rule.ljust(ids), _BOLD)}  {paint(sev.ljust(8), _COLORS[sev])}"
            f"  {titles.get(rule, '')}".rstrip()
            for (rule, sev), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _grid(table) -> list[str]:
    cells = [[terminal(str(v)) for v in row] for row in [table.columns, *table.rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.columns))]
    return ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip()
            for r in cells]


def summary(report: Report) -> str:
    counts = report.counts()
    total = sum(counts.values())
    parts = ", ".join(f"{n} {sev}" for sev, n in reversed(counts.items()) if n)
    checked = len({r.rule.id for r in report.runs})
    hosts = len(report.hosts)
    text = (f"{total} finding{'s' * (total != 1)}" + (f" ({parts})" if parts else "")
            + f" on {hosts} host{'s' * (hosts != 1)}; {checked} rule{'s' * (checked != 1)} checked")
    skipped = len({r.rule.id for r in report.runs if r.status == "skipped"})
    if skipped:  # not passed: each is named, with why, in a notice above
        text += f", {skipped} skipped"
    if report.suppressed:
        text += f", {report.suppressed} suppressed"
    if report.baselined:
        text += f", {report.baselined} hidden by baseline"
    failing = len(report.failing())
    text += f"; {failing} at or above '{report.fail_on.label}'"
    if report.errors:
        text += f"; {len(report.errors)} error{'s' * (len(report.errors) != 1)}"
    return text + f" (exit {report.exit_code()})"
