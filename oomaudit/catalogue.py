"""The rule catalogue: each rule's metadata lives in a TOML file (``rules/*.toml``),
its check in a plugin. ``make_rules`` joins the two, so the docs that ``oomaudit
explain`` and the README print are the same text the rule reports with.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib import resources
from typing import Callable

from .model import Rule, Severity

_FIELDS = {"title", "severity", "rationale", "fix", "references", "example"}


def load(text: str, origin: str) -> dict[str, dict]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads(text)
    for rule_id, entry in data.items():
        missing = {"title", "severity"} - set(entry)
        unknown = set(entry) - _FIELDS
        if missing or unknown:
            raise ValueError(f"{origin}: [{rule_id}] missing {sorted(missing)} "
                             f"or unknown {sorted(unknown)} fields")
    return data


def make_rules(checks: dict[str, Callable | str], catalogue: str = "",
               package: str = "oomaudit.rules", reads: tuple[str, ...] = ()) -> list[Rule]:
    """Rules for ``checks`` (id -> check function, or its ``"module:function"`` name) with
    metadata from ``package/catalogue`` (e.g. ``make_rules({...}, "swap.toml")``); a
    third-party plugin passes its own package. ``reads``: see :class:`Rule`."""
    text = resources.files(package).joinpath(catalogue).read_text(encoding="utf-8")
    entries = load(text, f"{package}/{catalogue}")
    rules = []
    for rule_id, check in checks.items():
        entry = entries[rule_id]
        rules.append(Rule(
            id=rule_id, title=entry["title"], severity=Severity.parse(entry["severity"]),
            check=check, rationale=entry.get("rationale", "").strip(),
            fix=entry.get("fix", "").strip(), references=list(entry.get("references", [])),
            example=entry.get("example", "").strip(), reads=tuple(reads)))
    return rules


def builtin_catalogues() -> Iterable[str]:
    return sorted(p.name for p in resources.files("oomaudit.rules").iterdir()
                  if p.name.endswith(".toml"))
