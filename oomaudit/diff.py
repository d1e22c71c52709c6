"""What a change does to the audit of a repository (``oomaudit diff``): the JSON reports of
BASE and of the working tree compared host by host, findings matched by fingerprint (added,
fixed) and the memory ledgers compared (the worst case before and after, each service's
change and the line it comes from). ``oomaudit/commands/diff.py`` audits the two sides;
``oomaudit/diffview.py`` renders the comparison.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .record import Record

if TYPE_CHECKING:
    from pathlib import Path


class ServiceChange(NamedTuple):
    """One service's worst case on each side (None: not in that side's ledger) and the
    sources of the side that has it (the working tree's when both do)."""

    service: str
    before: int | None
    after: int | None
    sources: list[str]


class HostChange(Record):
    """One host's part of the diff; ``before``/``after`` are its ledger totals (None: no
    such host on that side), ``added``/``fixed`` findings as the JSON report has them."""

    def __init__(self, name: str, label: str, ram: dict | None, before: int | None,
                 after: int | None, services: list[ServiceChange], added: list[dict],
                 fixed: list[dict]):
        self.name = name
        self.label = label
        self.ram = ram  # {"value": bytes, "source": ...} from the working tree's side
        self.before = before
        self.after = after
        self.services = services
        self.added = added
        self.fixed = fixed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.fixed or self.services or self.before != self.after)


class Diff(Record):
    """The whole comparison, as the views (``oomaudit.diffview``) render it."""

    def __init__(self, base: str, base_label: str, root: Path, targets: list[str],
                 configs: list[str], fail_on, exit_zero: bool, version: str):
        self.base = base  # the commit's full hash
        self.base_label = base_label  # what the user named, or how the default was found
        self.root = root
        self.targets = targets
        self.configs = configs  # the working tree's config files in force, shown as found
        self.configs_changed: list[str] = []  # those the change edits (or adds)
        self.fail_on = fail_on
        self.exit_zero = exit_zero
        self.version = version
        self.hosts: list[HostChange] = []
        self.errors: list[str] = []
        self.notices: list[str] = []

    def added(self) -> list[dict]:
        return [f for h in self.hosts for f in h.added]

    def fixed(self) -> list[dict]:
        return [f for h in self.hosts for f in h.fixed]

    def failing(self) -> list[dict]:
        """Added findings at or above --fail-on: only what the change brings fails it."""
        from .model import Severity

        return [f for f in self.added() if Severity.parse(f["severity"]) >= self.fail_on]

    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 0 if self.exit_zero or not self.failing() else 1


def compare(before: dict | None, after: dict, diff: Diff) -> Diff:
    """Fill ``diff`` from the two JSON reports (``before`` None: nothing at BASE)."""
    before = before or {"hosts": [], "findings": [], "errors": []}
    old_hosts = {h["name"]: h for h in before["hosts"]}
    new_hosts = {h["name"]: h for h in after["hosts"]}
    for name in [*new_hosts, *(n for n in old_hosts if n not in new_hosts)]:
        old, new = old_hosts.get(name), new_hosts.get(name)
        old_findings = [f for f in before["findings"] if f["host"] == name]
        new_findings = [f for f in after["findings"] if f["host"] == name]
        old_prints = {f["fingerprint"] for f in old_findings}
        new_prints = {f["fingerprint"] for f in new_findings}
        facts = (new or old)["facts"]
        diff.hosts.append(HostChange(
            name, (new or old)["label"], facts.get("ram"),
            _total(old), _total(new), _services(old, new),
            [f for f in new_findings if f["fingerprint"] not in old_prints],
            [f for f in old_findings if f["fingerprint"] not in new_prints]))
    diff.errors = list(after["errors"]) + [f"at BASE: {e}" for e in before["errors"]
                                           if e not in after["errors"]]
    diff.notices = list(after.get("notices", []))
    return diff


def _total(host: dict | None) -> int | None:
    return None if host is None else sum(c["bytes"] for c in host["ledger"])


def _services(old: dict | None, new: dict | None) -> list[ServiceChange]:
    """Each service whose worst case differs between the sides, in ledger order."""
    def by_service(host: dict | None) -> dict[str, tuple[int, list[str]]]:
        sums: dict[str, tuple[int, list[str]]] = {}
        for c in host["ledger"] if host else []:
            total, sources = sums.get(c["service"], (0, []))
            sums[c["service"]] = (total + c["bytes"], [*sources, c["source"]])
        return sums

    before, after = by_service(old), by_service(new)
    changes = []
    for service in [*after, *(s for s in before if s not in after)]:
        was, now = before.get(service), after.get(service)
        old_bytes, new_bytes = was[0] if was else None, now[0] if now else None
        if old_bytes != new_bytes:
            changes.append(ServiceChange(service, old_bytes, new_bytes, (now or was)[1]))
    return changes
