"""``path:line: RULE severity message``, evidence and fix indented below, then a summary."""
from __future__ import annotations

from ..report import Report

_COLORS = {"critical": "\033[1;35m", "high": "\033[1;31m", "medium": "\033[33m",
           "low": "\033[36m", "info": "\033[2m"}
_RESET, _BOLD, _DIM = "\033[0m", "\033[1m", "\033[2m"


def render(report: Report, color: bool) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    labels = {h.name: h.label for h in report.hosts}
    lines = []
    for host, f in report.findings:
        where = f.location if f.path else labels.get(host, host)
        sev = f.severity.label
        lines.append(f"{paint(where, _BOLD)}: {paint(f.rule, _BOLD)} "
                     f"{paint(sev, _COLORS[sev])} {f.message}")
        lines.extend(f"    evidence: {e}" for e in f.evidence)
        if f.fix:
            first, *rest = f.fix.splitlines()
            lines.append(f"    fix: {first}")
            lines.extend(f"         {r}" for r in rest)
    for h in report.hosts:
        for table in h.tables.values():
            lines.extend(["", f"{table.title} ({h.label}):", *_grid(table)])
    skipped = sorted({(r.rule.id, r.detail) for r in report.runs if r.status == "skipped"})
    notes = list(report.notices) + [f"{rule} skipped: {why}" for rule, why in skipped]
    if lines and notes:
        lines.append("")
    lines.extend(paint(f"notice: {n}", _DIM) for n in notes)
    lines.extend(f"error: {e}" for e in report.errors)
    if lines:
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _grid(table) -> list[str]:
    cells = [[str(c) for c in table.columns]] + [[str(v) for v in row] for row in table.rows]
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
    if report.suppressed:
        text += f", {report.suppressed} suppressed"
    failing = len(report.failing())
    text += f"; {failing} at or above '{report.fail_on.label}'"
    if report.errors:
        text += f"; {len(report.errors)} error{'s' * (len(report.errors) != 1)}"
    return text + f" (exit {report.exit_code()})"
