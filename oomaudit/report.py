"""What one run found, in the shape every reporter reads."""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Finding, Rule, Severity

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


@dataclass
class RuleRun:
    """One rule checked on one host: what JUnit shows as a test case."""

    rule: Rule
    host: str
    status: str
    detail: str = ""  # why skipped, or the error


@dataclass
class HostFacts:
    """A host as the report keeps it, copied from the ``Host`` once its rules have run: facts
    as (value, source), the ledger's consumers as dicts, the plugins' tables."""

    name: str
    mode: str
    label: str
    facts: dict[str, tuple[object, str]]  # key -> (value, where it came from)
    ledger: list[dict] = field(default_factory=list)
    tables: dict[str, object] = field(default_factory=dict)  # name -> oomaudit.host.Table


@dataclass(eq=False)
class Report:
    """One run's outcome, as every reporter reads it. ``errors`` are plugin and rule failures
    (exit status 2), ``notices`` remarks that are not findings (a skipped file, an unused
    suppression); ``suppressed`` counts findings hidden by ignores and suppressions."""

    command: str
    target: str
    version: str
    fail_on: Severity
    hosts: list[HostFacts] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (host name, finding)
    runs: list[RuleRun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    suppressed: int = 0
    exit_zero: bool = False

    def counts(self) -> dict[str, int]:
        counts = {s.label: 0 for s in Severity}
        for _, f in self.findings:
            counts[f.severity.label] += 1
        return counts

    def failing(self) -> list[Finding]:
        return [f for _, f in self.findings if f.severity >= self.fail_on]

    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 0 if self.exit_zero or not self.failing() else 1


@dataclass(eq=False)
class Reporter:
    """An output format: ``render(report, color)`` returns the whole text to write.
    ``color`` is True only for a terminal that wants it; most formats ignore it."""

    name: str
    render: object  # Callable[[Report, bool], str]
    plugin: str = ""
