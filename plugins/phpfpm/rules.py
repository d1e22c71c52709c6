"""FPM001-FPM003 checked: the pools' worst cases against the RAM the other services leave,
and workers that are never recycled.
"""
from __future__ import annotations

from oomaudit import Evidence, Finding, Severity
from oomaudit.ledger import Room
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .budget import PoolCase, cases
from .constants import SERVICE


def _available(host) -> Room:
    return host.ledger.room(SERVICE, host.require("ram"), "PHP-FPM")


def _pool_evidence(case: PoolCase) -> list[Evidence]:
    setting = case.pool.settings.get("pm.max_children")
    evidence = [Evidence(f"pool {case.pool.name}: pm = {case.pool.get('pm')}, "
                         f"pm.max_children = {case.children}",
                         setting.where if setting else case.pool.where)]
    if setting is not None and setting.env:
        evidence.append(Evidence(f"pm.max_children comes from the environment "
                                 f"({', '.join(setting.env)}): the value here is oomaudit's "
                                 "environment, php-fpm reads its own", setting.where))
    return evidence + list(case.size.evidence)


def _fits(available: int, size: int) -> int:
    return max(available // size, 0)


def check_fpm001(host):
    """A pool's pm.max_children x per-child memory above the RAM left for PHP-FPM."""
    all_cases = cases(host)
    if not all_cases:
        return
    room = _available(host)
    available = room.left
    for case in all_cases:
        path, line = case.location
        if case.children is None:  # templated: the run's notice names it
            continue
        if case.total is None:
            yield Finding(
                "FPM001", f"pool {case.pool.name}: memory_limit = -1 (unlimited), so "
                          f"{case.children} children have no upper bound", path, line,
                _pool_evidence(case) + room.evidence, severity=Severity.LOW,
                fix="php_admin_value[memory_limit] = 256M   ; or declare the measured size: "
                    "process-sizes = { php-fpm = \"...\" } in .oomaudit.toml",
                key=case.pool.name)
            continue
        if case.total <= available or not room.judged:
            continue
        fits = _fits(available, case.size.bytes)
        yield Finding(
            "FPM001",
            f"pool {case.pool.name}: pm.max_children {case.children} x "
            f"{format_size(case.size.bytes)} per child ({case.size.how}) = "
            f"{format_size(case.total)}, more than the {format_size(available)} of RAM "
            "left for PHP-FPM", path, line,
            _pool_evidence(case) + room.evidence + [Evidence(
                f"worst case = {case.children} x {format_size(case.size.bytes)} = "
                f"{format_size(case.total)}")],
            fix=_fix(fits, available, case), key=case.pool.name)


def _fix(fits: int, available: int, case: PoolCase) -> str:
    if fits < 1:
        return ("no child fits in the RAM left for PHP-FPM: shrink the other services "
                "or move PHP-FPM to its own host")
    return (f"pm.max_children = {fits}   ; {format_size(available)} / "
            f"{format_size(case.size.bytes)} per child")


def check_fpm002(host):
    """All pools together above the RAM left for PHP-FPM; the fix keeps each pool's share."""
    bounded = [c for c in cases(host) if c.total is not None]
    if len(bounded) < 2:
        return
    total = sum(c.total for c in bounded)
    room = _available(host)
    available = room.left
    if total <= available or not room.judged:
        return
    biggest = max(bounded, key=lambda c: c.total)
    path, line = biggest.location
    evidence = [Evidence(f"pool {c.pool.name}: {c.children} x {format_size(c.size.bytes)} "
                         f"({c.size.how}) = {format_size(c.total)}", c.where) for c in bounded]
    evidence += room.evidence
    fixes = []
    for case in bounded:
        share = available * case.total // total
        fixes.append(snippet(f"[{{pool}}] pm.max_children = {_fits(share, case.size.bytes)}"
                             f"   ; {{where}}, {100 * case.total / total:.0f}% of "
                             f"{format_size(available)}", pool=case.pool.name, where=case.where))
    yield Finding(
        "FPM002", f"{len(bounded)} PHP-FPM pools together need {format_size(total)} at worst, "
                  f"more than the {format_size(available)} of RAM left for PHP-FPM",
        path, line, evidence, fix="\n".join(fixes))  # key "": one per host


def check_fpm003(host):
    """pm.max_requests 0 or unset: a worker that leaks is never recycled."""
    for case in cases(host):
        setting = case.pool.settings.get("pm.max_requests")
        if setting is not None and (setting.value is None or setting.value > 0):
            continue  # recycled, or a template fills the value in
        path, line = (setting.source.display, setting.line) if setting else \
            (case.pool.source.display, case.pool.line)
        said = f"pm.max_requests = {setting.text}" if setting else "pm.max_requests unset (0)"
        yield Finding(
            "FPM003", f"pool {case.pool.name}: {said}: a worker that leaks memory is never "
                      "recycled", path, line,
            [Evidence(said, setting.where if setting else case.pool.where)],
            fix="pm.max_requests = 500", key=case.pool.name)
