"""The ``sysctl`` reader's parse(): a file's assignments in both dialects, and CONF001
for the lines and values the programs or the kernel reject."""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import PROCPS
from oomaudit.record import Record
from oomaudit.snippets import snippet

from .kernel import LIMITS, kernel_value


class SysctlDoc(Record):
    """What the ``sysctl`` reader's parse() gives: the file and its assignments in both
    dialects. Its problems (unusable lines, values the kernel rejects) are already CONF001
    findings of ``source``."""

    def __init__(self, source: object, file: fmt.SysctlFile):
        self.source = source  # oomaudit.Source
        self.file = file


def parse(source) -> SysctlDoc:
    doc = SysctlDoc(source, fmt.parse_sysctl(source.text))
    for problem in doc.file.problems:
        if problem.skipped:  # a warning, the rest applies: low, not the rule's high
            source.problems.append(Finding("CONF001", problem.message, source.display,
                                           problem.line, [], severity=Severity.LOW,
                                           key=source.line_text(problem.line)))
        else:
            source.problem("CONF001", problem.line, problem.message,
                           key=source.line_text(problem.line))  # no setting: the line
    for a in doc.file.assignments[PROCPS]:
        if a.value is not None and "#" in a.value:
            _inline_hash(source, a)
        elif a.value is not None and a.key in LIMITS and kernel_value(a.key, a.value) is None:
            low, high, _ = LIMITS[a.key]
            source.problem("CONF001", a.line, f"the kernel rejects {a.value!r} for {a.name} "
                           f"(an integer {low}..{high}): the write fails and the setting keeps "
                           "its previous value",
                           fix=snippet("{name} = {value}", name=a.name, value=LIMITS[a.key][2]),
                           key=a.name)
    return doc


def _inline_hash(source, a) -> None:
    """'#' only starts a comment at the start of a line; after a value it is data."""
    accepted = kernel_value(a.key, a.value) if a.key in LIMITS else None
    if a.key in LIMITS and accepted is None:
        what, severity = ("the kernel rejects it: the write fails and the setting keeps its "
                          "previous value"), None
    elif a.key in LIMITS:
        what, severity = (f"the kernel reads {accepted} and ignores the text after the blank, "
                          "but '2#x' without a blank would be rejected"), Severity.LOW
    else:
        what, severity = ("an integer setting ignores text after a blank, a text setting "
                          "keeps it"), Severity.LOW
    value = a.value.split("#", 1)[0].strip()
    source.problems.append(Finding(
        "CONF001", f"'#' after a value is not a comment in sysctl files: {a.name} is written "
                   f"as {a.value!r}; {what}", source.display, a.line,
        [Evidence(f"{a.written} = {a.value}", f"{source.display}:{a.line}")],
        fix=snippet("move the comment to its own line:\n# {comment}\n{name} = {value}",
                    comment=a.value.split("#", 1)[1].strip(), name=a.name, value=value),
        severity=severity, key=a.name))

