"""``oomaudit diff`` written out: text for a terminal, JSON (``oomaudit/diff.schema.json``)
and markdown for a CI job to post as a pull or merge request comment.

Everything in a finding or a ledger comes from files a change may have written: the text
view escapes control characters, and the markdown view escapes markdown and HTML so that
a value cannot become a link, an image, a heading, a table cell or a mention.
"""
from __future__ import annotations

import re
import time

from .diff import Diff, HostChange, ServiceChange
from .host import terminal
from .jsonout import dumps
from .units import format_size

SCHEMA_VERSION = 1
MAX_LISTED = 50  # findings per host and kind in markdown: a comment has a size limit
_RED, _GREEN, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[1m", "\033[0m"


def _size(value: int | None) -> str:
    return "none" if value is None else format_size(value)


def _change(before: int | None, after: int | None) -> str:
    delta = (after or 0) - (before or 0)
    return ("+" if delta > 0 else "-" if delta < 0 else "±") + format_size(abs(delta))


def _where(finding: dict) -> str:
    if not finding["path"]:
        return f"host {finding['host']}"
    return f"{finding['path']}:{finding['line']}" if finding["line"] else finding["path"]


def _summary(diff: Diff) -> str:
    added, fixed = diff.added(), diff.fixed()
    counts: dict[str, int] = {}
    for f in added:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    order = ["critical", "high", "medium", "low", "info"]
    parts = ", ".join(f"{counts[s]} {s}" for s in order if s in counts)
    changed = sum(h.changed for h in diff.hosts)
    text = (f"{len(added)} finding{'s' * (len(added) != 1)} added"
            + (f" ({parts})" if parts else "") + f", {len(fixed)} fixed; "
            f"{changed} of {len(diff.hosts)} host{'s' * (len(diff.hosts) != 1)} changed; "
            f"{len(diff.failing())} added at or above '{diff.fail_on.label}'")
    if diff.errors:
        text += f"; {len(diff.errors)} error{'s' * (len(diff.errors) != 1)}"
    return text + f" (exit {diff.exit_code()})"


def _ledger(host: HostChange) -> str | None:
    """"worst case 9.1 GiB -> 12.4 GiB of 8.0 GiB RAM", or None when neither side has a
    consumer."""
    if not host.before and not host.after:
        return None
    ram = f" of {format_size(host.ram['value'])} RAM" if host.ram and isinstance(
        host.ram.get("value"), int) else ""
    if host.before is None:
        return f"worst case {_size(host.after)}{ram} (a host BASE did not have)"
    if host.after is None:
        return f"worst case was {_size(host.before)}{ram} (no longer audited)"
    if host.before == host.after:
        return f"worst case {_size(host.after)}{ram}, unchanged"
    return f"worst case {_size(host.before)} -> {_size(host.after)}{ram}"


def _service(change: ServiceChange) -> str:
    if change.before is None:
        what = f"new, {_size(change.after)}"
    elif change.after is None:
        what = f"gone, was {_size(change.before)}"
    else:
        what = _change(change.before, change.after)
    return f"{change.service} {what} from {', '.join(change.sources)}"


# -- text -------------------------------------------------------------------------------

def text_view(diff: Diff, color: bool) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    lines = [f"oomaudit diff: {diff.base[:12]} ({terminal(diff.base_label)}) -> working tree "
             f"of {terminal(str(diff.root))}",
             f"config: {terminal(', '.join(diff.configs)) or 'none (defaults)'}, the working "
             "tree's, judges both sides: a config edit shows as neither a fix nor a finding"]
    if diff.configs_changed:
        lines.append(paint(f"this change edits {terminal(', '.join(diff.configs_changed))}: review "
                           "it, an edit there can hide findings on both sides", _BOLD))
    for host in diff.hosts:
        if not host.changed:
            continue
        ledger = _ledger(host)
        head = f"{terminal(host.name)}: {ledger}" if ledger else f"{terminal(host.name)}:"
        if host.services:
            head += "; " + "; ".join(terminal(_service(s)) for s in host.services)
        lines += ["", paint(head, _BOLD)]
        for mark, paint_as, findings in (("+", _RED, host.added), ("-", _GREEN, host.fixed)):
            for f in findings:
                lines.append(paint(f"  {mark} {terminal(_where(f))}: {f['rule']} {f['severity']} "
                                   f"{terminal(f['message'])}", paint_as))
    unchanged = sum(not h.changed for h in diff.hosts)
    if unchanged:
        lines += ["", f"{unchanged} host{'s' * (unchanged != 1)} unchanged"]
    tail = [f"notice: {terminal(n)}" for n in diff.notices] + [f"error: {terminal(e)}"
                                                            for e in diff.errors]
    lines += ["", *tail] if tail else []
    lines += ["", _summary(diff)]
    return "\n".join(lines) + "\n"


# -- JSON -------------------------------------------------------------------------------

def as_dict(diff: Diff) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "oomaudit", "version": diff.version},
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "diff",
        "base": {"commit": diff.base, "label": diff.base_label},
        "root": str(diff.root),
        "targets": diff.targets,
        "configs": diff.configs,
        "configs_changed": diff.configs_changed,
        "fail_on": diff.fail_on.label,
        "hosts": [{
            "name": h.name, "label": h.label, "changed": h.changed, "ram": h.ram,
            "worst_case": {"before": h.before, "after": h.after,
                           "change": (h.after or 0) - (h.before or 0)},
            "services": [{"service": s.service, "before": s.before, "after": s.after,
                          "change": (s.after or 0) - (s.before or 0), "sources": s.sources}
                         for s in h.services],
            "added": h.added, "fixed": h.fixed,
        } for h in diff.hosts],
        "errors": diff.errors,
        "notices": diff.notices,
        "summary": {"added": len(diff.added()), "fixed": len(diff.fixed()),
                    "failing": len(diff.failing()),
                    "hosts_changed": sum(h.changed for h in diff.hosts),
                    "exit_code": diff.exit_code()},
    }


def json_view(diff: Diff, color: bool) -> str:
    return dumps(as_dict(diff))


# -- markdown ---------------------------------------------------------------------------

# Every ASCII punctuation character CommonMark lets a backslash escape that could start
# markup: emphasis, code, links and images, headings, lists, tables, HTML, entities.
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~=:\"'$%^/?;,@])")
_SPACE = re.compile(r"\s+")


def md_text(value: object) -> str:
    """Plain text in markdown: escaped, on one line, and an ``@`` followed by a zero-width
    space so that ``@org/team`` in a file mentions nobody (as dependency bots do)."""
    text = _SPACE.sub(" ", terminal(str(value))).strip()
    return _MARKUP.sub(r"\\\1", text).replace("\\@", "@\u200b")


def md_code(value: object, cell: bool = False) -> str:
    """A code span holding ``value`` verbatim (on one line), fenced with more backticks
    than it holds in a row. In a table ``cell`` a pipe ends the cell even inside code, so
    GitHub wants it escaped there (and only there: elsewhere the backslash would show)."""
    text = _SPACE.sub(" ", terminal(str(value))).strip() or " "
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or text[0] == text[-1] == " " else ""
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_view(diff: Diff, color: bool) -> str:
    added, fixed = diff.added(), diff.fixed()
    verdict = ("fails the audit" if diff.failing() and not diff.exit_zero
               else "adds nothing at or above " + md_code(diff.fail_on.label))
    out = [f"### oomaudit: {len(added)} finding{'s' * (len(added) != 1)} added, "
           f"{len(fixed)} fixed",
           "",
           f"Compared with {md_code(diff.base[:12])} ({md_text(diff.base_label)}). Both sides "
           f"are judged by the working tree's configuration "
           f"({', '.join(md_code(c) for c in diff.configs) or 'none: the defaults'}): a "
           "config edit shows as neither a fix nor a finding."]
    if diff.configs_changed:
        out += ["", f"**This change edits {', '.join(md_code(c) for c in diff.configs_changed)}**"
                ": review it, an edit there can hide findings on both sides."]
    for host in diff.hosts:
        if host.changed:
            out += _md_host(host)
    unchanged = sum(not h.changed for h in diff.hosts)
    if unchanged:
        out += ["", f"{unchanged} host{'s' * (unchanged != 1)} unchanged."]
    for kind, items in (("Error", diff.errors), ("Notice", diff.notices)):
        out += [""] + [f"- {kind}: {md_text(i)}" for i in items] if items else []
    out += ["", f"**This change {verdict}**: {_summary(diff)}"]
    return "\n".join(out) + "\n"


def _md_host(host: HostChange) -> list[str]:
    ledger = _ledger(host)
    out = ["", f"#### {md_code(host.name)}" + (f": {md_text(ledger)}" if ledger else "")]
    if host.services:
        out += ["", "| service | before | after | change | from |",
                "| --- | ---: | ---: | ---: | --- |"]
        out += [f"| {md_code(s.service, True)} | {_size(s.before)} | {_size(s.after)} | "
                f"{_change(s.before, s.after)} | "
                f"{', '.join(md_code(source, True) for source in s.sources)} |"
                for s in host.services]
    for title, findings in (("Added", host.added), ("Fixed", host.fixed)):
        if not findings:
            continue
        out += ["", f"**{title}**", ""]
        out += [f"- **{f['severity']}** {md_code(f['rule'])} at {md_code(_where(f))}: "
                f"{md_text(f['message'])}" for f in findings[:MAX_LISTED]]
        if len(findings) > MAX_LISTED:
            out.append(f"- and {len(findings) - MAX_LISTED} more (the job's log lists them)")
    return out


VIEWS = {"text": text_view, "json": json_view, "markdown": markdown_view}
