"""JUnit XML for CI dashboards: a testsuite per plugin, a testcase per finding.

A rule that found something on a host is one failed case per finding, named after the rule,
the host and what the finding is about (its key, else its file), with ``file`` and
``line``: tools that read one result per case (GitLab's test report among them) then
show every finding, and the suite's ``failures`` count them. A rule that found nothing on
a host is one passed case, so a dashboard shows what was checked; a skipped rule (fact
unknown, a file it reads unreadable) is a skipped case; a crashed rule is an error case.

Every text goes through ``_xml``: XML 1.0 cannot carry most C0 controls even as ``&#27;``
(a parser refuses the whole report), nor lone surrogates, which a file name that is not
UTF-8 gives. They are written as the visible escapes the text report shows (``\\x1b``), and
undecodable bytes as U+FFFD (``host.printable``).
"""
from __future__ import annotations

import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from ..host import printable
from ..report import ERROR, SKIPPED, Report

# what XML 1.0 forbids (its Char production), lone surrogates aside: printable() takes those
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: object) -> str | None:
    """``text`` as XML 1.0 can carry it (None stays None: an absent attribute)."""
    if text is None:
        return None
    text = printable(str(text))
    return _NOT_XML.sub(lambda m: ascii(m.group())[1:-1], text)


def render(report: Report, color: bool) -> str:
    found: dict[tuple[str, str], list] = {}
    for host, f in report.findings:
        found.setdefault((host, f.rule), []).append(f)
    suites: dict[str, list[TestCase]] = {}
    for run in report.runs:
        rule = run.rule
        classname = _xml(f"oomaudit.{rule.plugin}.{run.host}")
        findings = found.pop((run.host, rule.id), [])
        cases = suites.setdefault(rule.plugin, [])
        cases.extend(_failed(run.host, f, classname) for f in findings)
        if not findings:
            case = TestCase(_xml(f"{rule.id} {rule.title}"), classname=classname)
            if run.status == SKIPPED:
                case.add_skipped_info(_xml(run.detail))
            elif run.status == ERROR:
                case.add_error_info(_xml(run.detail))
            cases.append(case)
    for (host, _), findings in found.items():  # a rule that reported under another id
        for f in findings:
            suites.setdefault(f.plugin, []).append(
                _failed(host, f, _xml(f"oomaudit.{f.plugin}.{host}")))
    for error in report.errors:
        if not any(error == r.detail for r in report.runs):
            case = TestCase("plugin error", classname="oomaudit.engine")
            case.add_error_info(_xml(error))
            suites.setdefault("engine", []).append(case)
    if not suites:  # CI tools reject an empty report: say that nothing was checked
        case = TestCase("no rules checked", classname="oomaudit")
        case.add_skipped_info("no rule was selected or no plugin provided rules")
        suites["oomaudit"] = [case]
    xml = to_xml_report_string(
        [TestSuite(_xml(f"oomaudit.{name}"), cases) for name, cases in suites.items()])
    return xml if xml.endswith("\n") else xml + "\n"


def _failed(host: str, f, classname: str) -> TestCase:
    """One finding as a failed case. Its name holds what its fingerprint holds (rule, host,
    file, key), never the line or a value, so a dashboard's history follows it; a second
    finding that only a ``#2`` tells apart is named so."""
    about = " in ".join(part for part in (f.key, f.path) if part) or "the host"
    repeat = f.fingerprint.partition("#")[2]
    name = f"{f.rule} {host}: {about}" + (f" #{repeat}" if repeat else "")
    case = TestCase(_xml(name), classname=classname, file=_xml(f.path), line=f.line)
    body = "\n".join([f"{f.location}: {f.rule} {f.severity.label} {f.message}"]
                     + [f"evidence: {e}" for e in f.evidence]
                     + ([f"fix: {f.fix}"] if f.fix else []))
    case.add_failure_info(_xml(f"{f.severity.label}: {f.message}"), _xml(body))
    return case
