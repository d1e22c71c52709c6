"""What one run found, in the shape every reporter reads."""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .model import Finding, Rule, Severity
from .record import Record

if TYPE_CHECKING:
    from pathlib import Path

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


class RuleRun(NamedTuple):
    """One rule checked on one host: what JUnit shows as a test case."""

    rule: Rule
    host: str
    status: str
    detail: str = ""  # why skipped, or the error


class Runs:
    """Every rule run of a report, host by host, iterated as ``RuleRun``s. A fleet's report
    has one run per rule and host (62 rules on 23,000 hosts at 100,000 files: 1.4 million,
    which as tuples held more memory than the rest of the report), so each host's runs are
    kept as one line: the rules in the order they ran, a status letter each, their details,
    the rules and details shared by every host that has the same (most hosts do: the same
    rules ran, passed for want of the same kinds of files). ``append`` takes one host's
    runs after another's, as the engine makes them."""

    def __init__(self, runs=()):
        self._lines: list[tuple[str, tuple, str, tuple]] = []  # host, rules, statuses, details
        self._pending: list[RuleRun] = []  # the last host's, not packed yet
        self._shared: dict[tuple, tuple] = {}
        self._size = 0
        self.extend(runs)

    def append(self, run: RuleRun) -> None:
        if self._pending and self._pending[-1].host != run.host:
            self._pack()
        self._pending.append(run)
        self._size += 1

    def extend(self, runs) -> None:
        """Take ``runs``: RuleRuns, or another ``Runs`` (its packed lines, as they are)."""
        if not isinstance(runs, Runs):
            for run in runs:
                self.append(run)
            return
        if self._pending:
            self._pack()
        share = self._shared.setdefault
        self._lines += [(host, share(rules, rules), statuses, share(details, details))
                        for host, rules, statuses, details in runs.packed()]
        self._size += len(runs)

    def packed(self) -> list[tuple[str, tuple, str, tuple]]:
        """The runs as packed lines: (host, rules, a status letter each, details). Sent
        from a worker process with the rules as their ids (oomaudit/pool.py)."""
        if self._pending:
            self._pack()
        return self._lines

    @classmethod
    def unpacked(cls, lines, rule) -> Runs:
        """Runs from packed lines whose rules are named by ``rule(names)``, a tuple of
        Rules for a tuple of what ``packed`` held."""
        runs = cls()
        runs._lines = [(host, rule(rules), statuses, details)
                       for host, rules, statuses, details in lines]
        runs._size = sum(len(statuses) for _, _, statuses, _ in lines)
        return runs

    def _pack(self) -> None:
        runs, self._pending = self._pending, []
        share = self._shared.setdefault
        rules, details = tuple(r.rule for r in runs), tuple(r.detail for r in runs)
        self._lines.append((runs[0].host, share(rules, rules), "".join(
            _LETTER[r.status] for r in runs), share(details, details)))

    def __iter__(self):
        if self._pending:
            self._pack()
        for host, rules, statuses, details in self._lines:
            for rule, status, detail in zip(rules, statuses, details, strict=True):
                yield RuleRun(rule, host, _STATUS[status], detail)

    def __len__(self) -> int:
        return self._size


_LETTER = {PASSED: "p", FAILED: "f", SKIPPED: "s", ERROR: "e"}
_STATUS = {letter: status for status, letter in _LETTER.items()}


class Read(NamedTuple):
    """A file a host's audit read, as the run keeps it once the host's rules ran (its
    text, documents and problems go): the output guard refuses to write onto ``path``,
    the baseline knows which files were looked at, and ``templates.notices`` says which
    were templates. ``reader``: its format's name ("" for none)."""
    host: str
    path: str
    display: str
    reader: str
    template: str  # why it is a template and was not read, else ""
    templated: dict[int, str]  # line -> the setting a template engine fills in
    held: list[str]  # the findings held back for those lines


class HostFacts(NamedTuple):
    """A host as the report keeps it, copied from the ``Host`` once its rules have run: facts
    as (value, source), the ledger's consumers as dicts, the plugins' tables."""

    name: str
    mode: str
    label: str
    facts: dict[str, tuple[object, str]]  # key -> (value, where it came from)
    ledger: list[dict]
    tables: dict[str, object]  # name -> oomaudit.host.Table


class Report(Record):
    """One run's outcome, as every reporter reads it. ``errors`` are plugin and rule failures
    (exit status 2), ``notices`` remarks that are not findings (a skipped file, an unused
    suppression); ``suppressed`` counts findings hidden by ignores and suppressions,
    ``baselined`` those a baseline lists (``oomaudit/baseline.py``).
    ``quiet`` (--quiet) and ``statistics`` (--statistics) ask a human-readable format for
    less: findings and summary only, a count per rule instead of each finding."""

    def __init__(self, command: str, target: str, version: str, fail_on: Severity,
                 exit_zero: bool = False):
        self.command = command
        self.target = target
        self.version = version
        self.fail_on = fail_on
        self.exit_zero = exit_zero
        self.hosts: list[HostFacts] = []
        self.findings: list[tuple[str, Finding]] = []  # (host name, finding)
        self.runs = Runs()
        self.read: list[Read] = []  # every host's files read, in the hosts' order
        # Where paths are relative to, per host: (root, working directory), as fingerprints
        # take them; and where a finding without a file is placed for formats that need one
        # (its host's [[hosts]] table, config file or check's first file): (path, line).
        self.roots: dict[str, tuple[Path, str]] = {}
        self.host_places: dict[str, tuple[str, int | None]] = {}
        self.errors: list[str] = []
        self.notices: list[str] = []
        self.suppressed = 0
        self.baselined = 0
        self.quiet = False
        self.statistics = False

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

    def rules(self) -> dict[str, Rule]:
        """Every rule checked, by id, in the order they first ran."""
        return {run.rule.id: run.rule for run in self.runs}


class Reporter(Record):
    """An output format: ``render(report, color)`` returns the whole text to write, or an
    iterable of its pieces (``output.held``).
    ``color`` is True only for a terminal that wants it; most formats ignore it."""

    def __init__(self, name: str, render: object, plugin: str = ""):
        self.name = name
        self.render = render  # Callable[[Report, bool], str]
        self.plugin = plugin  # set by the plugin manager
