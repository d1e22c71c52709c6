"""JUnit XML for CI dashboards: a testsuite per plugin, a testcase per rule checked per host.

Passed rules are passed cases, so a dashboard shows what was checked, not only
what failed; a skipped rule (fact unknown) is a skipped case; a crashed rule is
an error case.
"""
from __future__ import annotations

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..report import ERROR, SKIPPED, Report


def render(report: Report, color: bool) -> str:
    by_key: dict[tuple[str, str], list] = {}
    for host, f in report.findings:
        by_key.setdefault((host, f.rule), []).append(f)
    suites: dict[str, list[TestCase]] = {}
    for run in report.runs:
        rule = run.rule
        # allow_multiple_subelements: junit-xml otherwise merges every add_failure_info
        # into one <failure>, and a rule with three findings would show only the last
        case = TestCase(f"{rule.id} {rule.title}", classname=f"oomaudit.{rule.plugin}.{run.host}",
                        allow_multiple_subelements=True)
        findings = by_key.get((run.host, rule.id), [])
        if run.status == SKIPPED:
            case.add_skipped_info(run.detail)
        elif run.status == ERROR:
            case.add_error_info(run.detail)
        for f in findings:
            body = "\n".join([f"{f.location}: {f.rule} {f.severity.label} {f.message}"]
                             + [f"evidence: {e}" for e in f.evidence]
                             + ([f"fix: {f.fix}"] if f.fix else []))
            case.add_failure_info(f"{f.severity.label}: {f.message}", body)
        if findings and findings[0].path:
            case.file, case.line = findings[0].path, findings[0].line
        suites.setdefault(rule.plugin, []).append(case)
    for error in report.errors:
        if not any(error == r.detail for r in report.runs):
            case = TestCase("plugin error", classname="oomaudit.engine")
            case.add_error_info(error)
            suites.setdefault("engine", []).append(case)
    if not suites:  # CI tools reject an empty report: say that nothing was checked
        case = TestCase("no rules checked", classname="oomaudit")
        case.add_skipped_info("no rule was selected or no plugin provided rules")
        suites["oomaudit"] = [case]
    xml = to_xml_report_string(
        [TestSuite(f"oomaudit.{name}", cases) for name, cases in suites.items()])
    return xml if xml.endswith("\n") else xml + "\n"
