"""The values that cross the pipeline: severities, rules, findings and their evidence.

Readers and collectors produce facts, rules turn facts into findings, reporters
turn findings into text. These classes are the only things they share.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .excerpts import LONGEST, bounded
from .record import Record


class Severity(enum.IntEnum):
    """Ordered so that ``--fail-on`` is a comparison."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Evidence(NamedTuple):
    """One value a finding used and where it came from (``file:line``, ``live: /proc/swaps``,
    ``declared: --ram``), so that every number in a message can be checked by hand."""

    what: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.what} ({self.source})" if self.source else self.what


class Finding(Record):
    """One problem. ``path``/``line`` locate it in a config file; a finding about the live
    host has ``path`` None and says so through its evidence. Findings with equal fields are
    equal, so that a plugin's tests can compare what a check yields with what they expect."""

    def __init__(self, rule: str, message: str, path: str | None = None,
                 line: int | None = None, evidence: list[Evidence] | None = None,
                 fix: str = "", severity: Severity | None = None, plugin: str = "",
                 docs: str = "", key: str = ""):
        self.rule = rule
        self.message = bounded(message)  # a hostile value: its start and length (excerpts)
        self.path = path
        self.line = line
        self.evidence = [] if evidence is None else _bounded(evidence)
        self.fix = fix
        self.severity = severity  # None: the rule's default (or the config's override)
        # What the finding is about inside its file or host (a pool, a unit, a service, a
        # setting): with rule, host and path it makes the fingerprint, so it never holds a
        # line number or a value that a fix would change. "" when the rule fires once there.
        self.key = key
        # Filled in by the engine, never by a rule:
        self.plugin = plugin
        self.docs = docs
        self.fingerprint = ""

    __eq__ = Record.same_content

    @property
    def location(self) -> str:
        if self.path is None:
            return "host"
        return f"{self.path}:{self.line}" if self.line else self.path


def _bounded(evidence: list[Evidence]) -> list[Evidence]:
    """``evidence`` with each hostile value cut to its start and length (``bounded``); the
    list itself when nothing is that long (nearly always)."""
    if all(len(e.what if isinstance(e, Evidence) else str(e)) <= LONGEST for e in evidence):
        return evidence
    return [e._replace(what=bounded(e.what)) if isinstance(e, Evidence) else
            bounded(e) if isinstance(e, str) else e for e in evidence]


CheckFunction = Callable[["object"], Iterable[Finding]]


class Rule(Record):
    """A rule's catalogue entry (``rules/*.toml``) plus the function that checks it.

    The engine calls ``check(host)`` itself, one rule at a time, so a rule that
    raises is reported by id and plugin while every other rule still runs.

    ``check`` may be given as ``"module:function"``, imported on first call.
    ``reads`` names the formats (reader names) the rule looks at: in a config repository
    (``oomaudit check``) a host without a document of any of them gives the rule nothing
    to check, so the engine passes it without calling it, and a pre-commit run on one
    fstab imports no MySQL code. Leave it empty for rules that need no file.
    """

    def __init__(self, id: str, title: str, severity: Severity, check: CheckFunction | str,
                 rationale: str = "", fix: str = "", references: list[str] | None = None,
                 example: str = "", reads: tuple[str, ...] = (), plugin: str = "",
                 fingerprint: str = ""):
        self.id = id
        self.title = title
        self.severity = severity
        self.check = checker(check)
        self.rationale = rationale
        self.fix = fix
        self.references = [] if references is None else references
        self.example = example
        self.reads = reads
        self.plugin = plugin  # set by the plugin manager
        self.fingerprint = fingerprint  # what its findings' key is (see Finding.key), for docs

    @property
    def family(self) -> str:
        return self.id.rstrip("0123456789")


def checker(check: CheckFunction | str) -> CheckFunction:
    """``check`` itself, or for a ``"module:function"`` name a callable that imports the
    module on its first call."""
    if isinstance(check, str):
        from .refs import Lazy

        return Lazy(check)
    return check


class MissingFact(Exception):
    """Raised by a rule (or ``Host.require``) when a fact it needs is unknown, e.g. the RAM
    of a config repo nobody declared. The engine reports the rule as skipped, with why."""

    def __init__(self, fact: str, hint: str):
        super().__init__(f"{fact} unknown: {hint}")
        self.fact = fact
