"""JUnit XML read by a real consumer (junitparser): a testsuite per plugin, a testcase per
rule checked, a failure per finding, passed and skipped rules visible, never empty."""
from __future__ import annotations

import json
import string
from collections import defaultdict

import pytest
from engine_stub import stub_env
from junitparser import Attr, Error, Failure, IntAttr, JUnitXml, Skipped, TestCase

STUB = """\
consumer db 6G
warn first
warn second
bogus
"""


class Case(TestCase):
    """junitparser reads only the standard attributes; ``file``/``line`` are ours to declare."""

    file = Attr()
    line = IntAttr()


@pytest.fixture
def junit(oomaudit, tmp_path):
    def junit(*args: str, text: str = STUB):
        (tmp_path / "app.stub").write_text(text)
        proc = oomaudit("check", "app.stub", "--format", "junit", *args, env=stub_env())
        assert "Traceback" not in proc.stderr
        xml = JUnitXml.fromstring(proc.stdout)
        cases = {case.name.split()[0]: Case.fromelem(case) for suite in xml for case in suite}
        return proc, xml, cases
    return junit


@pytest.fixture
def plugin_rules(oomaudit) -> dict[str, set[str]]:
    """What the loaded plugins provide, as `oomaudit rules` lists it."""
    rules = json.loads(oomaudit("rules", "--format", "json", env=stub_env()).stdout)
    by_plugin = defaultdict(set)
    for rule in rules:
        by_plugin[rule["plugin"]].add(rule["id"])
    return by_plugin


def test_a_suite_per_plugin_and_a_case_per_rule(junit, plugin_rules):
    proc, xml, cases = junit("--ram", "8G")
    assert proc.returncode == 1
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {f"oomaudit.{p}" for p in plugin_rules}
    for plugin, ids in plugin_rules.items():
        suite = suites[f"oomaudit.{plugin}"]
        assert sorted(case.name.split()[0] for case in suite) == sorted(ids)
        assert suite.tests == len(ids)
    assert xml.tests == sum(len(ids) for ids in plugin_rules.values()) == len(cases)


def test_a_failure_per_finding_with_message_evidence_and_file(junit):
    _, xml, cases = junit("--ram", "8G")
    failures = [r for r in cases["STUB001"].result if isinstance(r, Failure)]
    assert [f.message for f in failures] == ["medium: stub warning: first",
                                             "medium: stub warning: second"]
    assert failures[0].text.splitlines() == [
        "app.stub:2: STUB001 medium stub warning: first",
        "evidence: warn first (app.stub:2)",
        "fix: remove the warn line"]
    assert (cases["STUB001"].file, cases["STUB001"].line) == ("app.stub", 2)
    (conf,) = cases["CONF001"].result
    assert isinstance(conf, Failure) and "unknown statement 'bogus'" in conf.message
    assert (cases["CONF001"].file, cases["CONF001"].line) == ("app.stub", 4)
    assert sum(1 for suite in xml for case in suite if case.is_failure) == 2


def test_passed_rules_are_passed_cases(junit):
    _, _, cases = junit("--ram", "8G")
    for rule in ("STUB002", "CONF002", "CONF003", "HOST002"):
        assert cases[rule].is_passed, rule
        assert cases[rule].result == []


def test_rule_skipped_for_a_missing_fact(junit):
    """A consumer exists but the RAM is unknown: HOST002 cannot be checked and says why."""
    _, xml, cases = junit()
    (skipped,) = cases["HOST002"].result
    assert isinstance(skipped, Skipped) and skipped.message.startswith("ram unknown")
    assert xml.skipped >= 1


def test_host002_fails_when_ram_is_declared_too_small(junit):
    _, _, cases = junit("--ram", "4G")
    (failure,) = cases["HOST002"].result
    assert isinstance(failure, Failure) and "exceeds RAM 4.0 GiB" in failure.message
    assert cases["HOST002"].file is None  # a finding about the host has no file


def test_crashed_rule_is_an_error_case(junit):
    proc, _, cases = junit(text="crash\n")
    assert proc.returncode == 2
    (error,) = cases["STUB002"].result
    assert isinstance(error, Error) and "STUB002" in error.message and "'stub'" in error.message


def test_always_at_least_one_case(junit):
    proc, xml, cases = junit("--ignore", ",".join(string.ascii_uppercase))  # every rule
    assert proc.returncode == 0
    assert xml.tests == 1
    (case,) = [case for suite in xml for case in suite]
    assert case.is_skipped and case.name == "no rules checked"


def test_passing_run_exits_zero(junit):
    proc, xml, _ = junit("--ram", "8G", text="consumer db 1G\n")
    assert proc.returncode == 0
    assert xml.failures == 0 and xml.errors == 0
