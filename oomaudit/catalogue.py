"""The rule catalogue: each rule's metadata lives in a TOML file (``rules/*.toml``),
its check in a plugin. ``make_rules`` joins the two, so the docs that ``oomaudit
explain`` and the README print are the same text the rule reports with.

Every run registers every rule, but a pre-commit run on one fstab reports at most a
few of them; so the built-in catalogues are parsed when a rule's text is first read
(tests/engine/test_catalogue.py checks that each one loads). Another package's catalogue is
read at once, so that a broken one is blamed on its plugin while it loads.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import import_module

from .model import Rule, Severity, checker

BUILTIN = "oomaudit.rules"
_FIELDS = {"title", "severity", "rationale", "fix", "references", "example", "fingerprint"}


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


class Catalogue:
    """One TOML file of rule texts, parsed on first use."""

    def __init__(self, package: str, name: str):
        self.package, self.name = package, name
        self._entries: dict[str, dict] | None = None

    def entry(self, rule_id: str) -> dict:
        if self._entries is None:
            self._entries = _built(self.package, self.name) or load(
                _read(self.package, self.name), f"{self.package}/{self.name}")
        try:
            return self._entries[rule_id]
        except KeyError:
            raise ValueError(f"{self.package}/{self.name}: no [{rule_id}] entry") from None


def _built(package: str, name: str) -> dict[str, dict] | None:
    """A built-in catalogue as setup.py wrote it into a normal install (``CATALOGUES`` of
    ``oomaudit/rules/compiled.py``: importing tomllib cost more than all the rest of a
    finding's texts); None in an editable install, which reads the TOML file."""
    if package != BUILTIN:
        return None
    try:
        built = import_module(f"{BUILTIN}.compiled")
    except ImportError:
        return None
    return built.CATALOGUES.get(name)


def _read(package: str, name: str) -> str:
    """The file beside the package's modules; importlib.resources (slow to import) only
    for a package that is not a folder on disk (a zip)."""
    for folder in getattr(import_module(package), "__path__", ()):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                return fh.read()
    from importlib import resources

    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


class _CatalogueRule(Rule):
    """A rule whose texts stay in its catalogue until a reporter or ``explain`` reads them.
    The ``Rule`` fields are properties here; everything else is the plain ``Rule``."""

    def __init__(self, rule_id: str, check: Callable | str, catalogue: Catalogue,
                 reads: tuple[str, ...]):
        self.id = rule_id
        self.check = checker(check)
        self.reads = tuple(reads)
        self.plugin = ""
        self._catalogue = catalogue

    @property
    def _entry(self) -> dict:
        return self._catalogue.entry(self.id)

    title = property(lambda self: self._entry["title"])
    severity = property(lambda self: Severity.parse(self._entry["severity"]))
    rationale = property(lambda self: self._entry.get("rationale", "").strip())
    fix = property(lambda self: self._entry.get("fix", "").strip())
    references = property(lambda self: list(self._entry.get("references", [])))
    example = property(lambda self: self._entry.get("example", "").strip())
    fingerprint = property(lambda self: self._entry.get("fingerprint", "").strip())


def make_rules(checks: dict[str, Callable | str], catalogue: str = "",
               package: str = BUILTIN, reads: tuple[str, ...] = ()) -> list[Rule]:
    """Rules for ``checks`` (id -> check function, or its ``"module:function"`` name) with
    metadata from ``package/catalogue`` (e.g. ``make_rules({...}, "swap.toml")``); a
    third-party plugin passes its own package. ``reads``: see :class:`Rule`."""
    source = Catalogue(package, catalogue)
    if package == BUILTIN:
        return [_CatalogueRule(rule_id, check, source, reads) for rule_id, check in checks.items()]
    rules = []
    for rule_id, check in checks.items():
        entry = source.entry(rule_id)
        rules.append(Rule(
            id=rule_id, title=entry["title"], severity=Severity.parse(entry["severity"]),
            check=check, rationale=entry.get("rationale", "").strip(),
            fix=entry.get("fix", "").strip(), references=list(entry.get("references", [])),
            example=entry.get("example", "").strip(), reads=tuple(reads),
            fingerprint=entry.get("fingerprint", "").strip()))
    return rules


def checks_in(module: str, *rule_ids: str) -> dict[str, str]:
    """``{"SWAP001": "module:check_swap001", ...}`` for ``make_rules``: the built-in plugins
    name each rule's check ``check_<id>`` in their checks module."""
    return {rule: f"{module}:check_{rule.lower()}" for rule in rule_ids}


def builtin_catalogues() -> list[str]:
    return sorted(name for folder in import_module(BUILTIN).__path__
                  for name in os.listdir(folder) if name.endswith(".toml"))
