"""JUnit XML read by a real consumer (junitparser): a testsuite per plugin, a failed testcase
per finding and a passed one per rule that found nothing on a host, so that the counts match
the findings; skipped and crashed rules visible, never empty."""
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
        # the JSON of the same run on stdout: what the JUnit counts must agree with
        proc = oomaudit("check", "app.stub", "--format", "junit", "-o", "report.xml",
                        "--format", "json", "-o", "-", *args, env=stub_env())
        assert "Traceback" not in proc.stderr
        proc.json = json.loads(proc.stdout)
        xml = JUnitXml.fromfile(str(tmp_path / "report.xml"))
        cases: dict[str, list[Case]] = defaultdict(list)
        for suite in xml:
            for case in suite:
                cases[case.name.split()[0]].append(Case.fromelem(case))
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


def test_a_suite_per_plugin_a_case_per_finding_and_per_clean_rule(junit, plugin_rules):
    """STUB001 found two things: two cases; every other rule one. The counts are the
    findings', as the JSON report of the same run has them."""
    proc, xml, cases = junit("--ram", "8G")
    assert proc.returncode == 1
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {f"oomaudit.{p}" for p in plugin_rules}
    findings = {"STUB001": 2, "CONF001": 1}
    for plugin, ids in plugin_rules.items():
        suite = suites[f"oomaudit.{plugin}"]
        assert sorted(case.name.split()[0] for case in suite) == sorted(
            rule for rule in ids for _ in range(findings.get(rule, 1)))
        assert suite.tests == sum(findings.get(rule, 1) for rule in ids)
        assert suite.failures == sum(findings.get(rule, 0) for rule in ids)
    every = sum(len(ids) for ids in plugin_rules.values()) + 1  # STUB001's second case
    assert xml.tests == every == sum(map(len, cases.values()))
    assert xml.failures == len(proc.json["findings"]) == 3


def test_a_failure_per_finding_with_message_evidence_and_file(junit):
    _, xml, cases = junit("--ram", "8G")
    first, second = cases["STUB001"]
    assert (first.name, second.name) == ("STUB001 default: app.stub",
                                         "STUB001 default: app.stub #2")
    assert first.classname == "oomaudit.stub.default"
    ((failure,), (other,)) = first.result, second.result
    assert isinstance(failure, Failure) and isinstance(other, Failure)
    assert (failure.message, other.message) == ("medium: stub warning: first",
                                                "medium: stub warning: second")
    assert failure.text.splitlines() == [
        "app.stub:2: STUB001 medium stub warning: first",
        "evidence: warn first (app.stub:2)",
        "fix: remove the warn line"]
    assert [(c.file, c.line) for c in (first, second)] == [("app.stub", 2), ("app.stub", 3)]
    ((conf,),) = [case.result for case in cases["CONF001"]]
    assert isinstance(conf, Failure) and "unknown statement 'bogus'" in conf.message
    assert [(c.file, c.line) for c in cases["CONF001"]] == [("app.stub", 4)]
    assert sum(1 for suite in xml for case in suite if case.is_failure) == 3


def test_three_compose_services_without_limits_are_three_failed_cases(oomaudit, tmp_path):
    """Issue 15's 'done when': one case per service, named after the rule, the host and the
    service, and failures="3" where a dashboard reads it."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx\n  worker:\n    image: app\n"
        "  cache:\n    image: redis\n")
    proc = oomaudit("check", "compose.yaml", "--format", "junit")
    assert proc.returncode == 1, proc.stderr
    assert 'failures="3"' in proc.stdout.split("\n", 2)[1]  # the <testsuites> element
    xml = JUnitXml.fromstring(proc.stdout)
    assert xml.failures == 3 and xml.errors == 0
    (suite,) = [s for s in xml if s.name == "oomaudit.containers"]
    assert suite.failures == 3
    failed = [Case.fromelem(case) for case in suite if case.is_failure]
    assert sorted(case.name for case in failed) == [
        f"CONTAINER001 default: {service} in compose.yaml"
        for service in ("cache", "web", "worker")]
    assert [(case.file, case.line) for case in failed] == [
        ("compose.yaml", 2), ("compose.yaml", 4), ("compose.yaml", 6)]
    assert all(len(case.result) == 1 for case in failed)


def test_passed_rules_are_passed_cases(junit):
    _, _, cases = junit("--ram", "8G")
    for rule in ("STUB002", "CONF002", "CONF003", "HOST002"):
        (case,) = cases[rule]
        assert case.is_passed, rule
        assert case.result == []


def test_rule_skipped_for_a_missing_fact(junit):
    """A consumer exists but the RAM is unknown: HOST002 cannot be checked and says why."""
    _, xml, cases = junit()
    ((skipped,),) = [case.result for case in cases["HOST002"]]
    assert isinstance(skipped, Skipped) and skipped.message.startswith("ram unknown")
    assert xml.skipped >= 1


def test_host002_fails_when_ram_is_declared_too_small(junit):
    _, _, cases = junit("--ram", "4G")
    (case,) = cases["HOST002"]
    (failure,) = case.result
    assert isinstance(failure, Failure) and "exceeds RAM 4.0 GiB" in failure.message
    assert case.name == "HOST002 default: the host"
    assert case.file is None  # a finding about the host has no file


def test_crashed_rule_is_an_error_case(junit):
    proc, _, cases = junit(text="crash\n")
    assert proc.returncode == 2
    ((error,),) = [case.result for case in cases["STUB002"]]
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
