"""The built-in rule catalogues: every registered rule has its texts, every entry has a
rule, and a run reads only the catalogues whose rules it reports."""
from __future__ import annotations

import sys

import pytest

from oomaudit import catalogue
from oomaudit.catalogue import BUILTIN, Catalogue, builtin_catalogues, make_rules
from oomaudit.engine import Registry
from oomaudit.manager import load_plugins
from oomaudit.model import Rule, Severity


@pytest.fixture(scope="module")
def registry():
    return Registry.build(load_plugins(disable_third_party=True))


def test_every_builtin_rule_has_its_texts(registry):
    for rule in registry.rules.values():
        assert rule.title and isinstance(rule.severity, Severity), rule.id
        assert rule.rationale and rule.fix, rule.id


def test_every_catalogue_entry_belongs_to_a_registered_rule(registry):
    entries = set()
    for name in builtin_catalogues():
        text = open(f"{sys.modules[BUILTIN].__path__[0]}/{name}", encoding="utf-8").read()
        entries |= set(catalogue.load(text, name))
    assert entries == set(registry.rules)


def test_registering_reads_no_catalogue_and_a_finding_reads_one(monkeypatch):
    read = []
    real = catalogue.load
    monkeypatch.setattr(catalogue, "load", lambda text, origin: read.append(origin) or
                        real(text, origin))
    registry = Registry.build(load_plugins(disable_third_party=True))
    assert read == []
    assert registry.rules["SWAP001"].severity == Severity.MEDIUM
    assert read == [f"{BUILTIN}/swap.toml"]


def test_a_missing_entry_is_named():
    (rule,) = make_rules({"SWAP999": lambda host: ()}, "swap.toml")
    with pytest.raises(ValueError, match=r"swap.toml: no \[SWAP999\] entry"):
        _ = rule.title


def test_a_third_party_catalogue_is_read_at_once(monkeypatch):
    monkeypatch.setattr(Catalogue, "entry", lambda self, rule_id: {"title": "T",
                                                                   "severity": "high"})
    (rule,) = make_rules({"ACME001": "acme.rules:check"}, "acme.toml", package="acme")
    assert type(rule) is Rule and rule.severity == Severity.HIGH
