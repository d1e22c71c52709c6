"""--format github: workflow commands decoded as the Actions runner decodes them.

The decoder below follows the documented rules (and the runner's ActionCommand): a command
line is ``::NAME key=value,key=value::DATA``; the first ``::`` after the name ends the
properties; each property value is unescaped from %0D %0A %3A %2C and then %25, the data
from %0D %0A and then %25. Whatever oomaudit wrote must come back as it was meant.
"""
from __future__ import annotations

from pathlib import Path

from engine_stub import stub_env

from oomaudit.model import Evidence, Finding, Rule, Severity
from oomaudit.report import FAILED, Report, RuleRun
from oomaudit.reporters import github

DATA = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
PROPERTY = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]


def unescape(text: str, mappings) -> str:
    for escaped, char in mappings:
        text = text.replace(escaped, char)
    return text


def decode(line: str) -> tuple[str, dict[str, str], str] | None:
    """(command, properties, message) of one log line, None when it is no command."""
    if not line.startswith("::"):
        return None
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2:]
    name, _, props = info.partition(" ")
    properties = {}
    for pair in filter(None, props.split(",")):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value, PROPERTY)
    return name, properties, unescape(data, DATA)


def report_with(finding: Finding, host: str = "db1") -> Report:
    rule = Rule(finding.rule, "Title: with a colon, and a comma", Severity.HIGH, lambda h: [])
    report = Report("check", ".", "0", Severity.LOW)
    report.runs = [RuleRun(rule, host, FAILED)]
    if finding.severity is None:  # the engine's job: INFO is 0, so no `or`
        finding.severity = Severity.HIGH
    finding.fingerprint = "f" * 32
    report.findings = [(host, finding)]
    report.roots = {host: (Path("/repo"), "/repo")}
    return report


def test_message_and_properties_round_trip():
    """A message holding %, :, , and a newline, a file name holding : , and %: each comes
    back whole, and the line stays one line."""
    finding = Finding("X001", "50% used: a, b\nsecond line: 100%,", path="conf:1,2%/a b.cnf",
                      line=3, evidence=[Evidence("x = 50%", "conf:1,2%/a b.cnf:3")],
                      fix="set x: 1,2")
    out = github.render(report_with(finding), False)
    first, summary = out.splitlines()
    assert decode(first) == ("error", {
        "file": "conf:1,2%/a b.cnf", "line": "3",
        "title": "X001 Title: with a colon, and a comma"},
        "50% used: a, b\nsecond line: 100%, (high, host db1)\n"
        "evidence: x = 50% (conf:1,2%/a b.cnf:3)\nfix: set x: 1,2")
    assert decode(summary) is None and summary.startswith("1 finding (1 high)")


def test_a_message_cannot_start_another_command_or_drive_the_terminal():
    finding = Finding("X001", "ok\n::error file=evil::injected\r\x1b[2J\u202eevil", path="a")
    out = github.render(report_with(finding), False)
    lines = out.splitlines()
    assert len(lines) == 2 and "\x1b" not in out and "\u202e" not in out
    _, _, message = decode(lines[0])
    assert message.startswith("ok\n::error file=evil::injected\r\\x1b[2J\\u202eevil")


def test_severities_map_to_error_warning_notice():
    commands = {}
    for severity in Severity:
        out = github.render(report_with(Finding("X001", "m", "a", 1, severity=severity)), False)
        commands[severity.label] = decode(out.splitlines()[0])[0]
    assert commands == {"info": "notice", "low": "notice", "medium": "warning",
                        "high": "error", "critical": "error"}


def test_a_host_without_any_file_is_an_annotation_without_one():
    out = github.render(report_with(Finding("X001", "the host as a whole")), False)
    name, properties, _ = decode(out.splitlines()[0])
    assert name == "error" and set(properties) == {"title"}


def test_cli_annotates_files_relative_to_the_repository(oomaudit, tmp_path):
    """A real run from a subfolder: paths relative to the git work tree, as GitHub resolves
    annotation files, one command per finding plus the summary."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a:b,c%.stub").write_text("warn 100%: x, y\nbogus\n")
    proc = oomaudit("check", ".", "--format", "github", cwd=tmp_path / "sub", env=stub_env())
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    commands = [decode(line) for line in lines[:-1]]
    assert [(name, p["file"], p.get("line")) for name, p, _ in commands] == [
        ("warning", "sub/a:b,c%.stub", "1"), ("error", "sub/a:b,c%.stub", "2")]
    assert commands[0][1]["title"] == "STUB001 Stub warning"
    assert commands[0][2].startswith("stub warning: 100%: x, y (medium, host default)\n")
    assert decode(lines[-1]) is None and lines[-1].startswith("2 findings")
