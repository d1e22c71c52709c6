"""Inline suppressions in a config file's own comments: ``# oomaudit: ignore[ID] reason`` on
the line or the line above, ``ignore-file[ID]``, prefixes, and stale ones as notices."""
from __future__ import annotations

import pytest
from engine_stub import json_report, stub_env


@pytest.fixture
def check(oomaudit, tmp_path):
    """Audit one .stub file with this text; returns (JSON report, text output)."""
    def check(text: str, *args: str):
        (tmp_path / "a.stub").write_text(text)
        report = json_report(oomaudit("check", "a.stub", "--format", "json", *args,
                                      env=stub_env()))
        plain = oomaudit("check", "a.stub", *args, env=stub_env()).stdout
        return report, plain
    return check


def found(report) -> list[tuple[str, int]]:
    return [(f["rule"], f["line"]) for f in report["findings"]]


def test_same_line(check):
    report, plain = check("warn a  # oomaudit: ignore[STUB001] known, ticket 12\nwarn b\n")
    assert found(report) == [("STUB001", 2)]
    assert report["summary"]["suppressed"] == 1
    assert report["notices"] == []
    assert ", 1 suppressed;" in plain


def test_line_above_covers_the_next_line_only(check):
    report, _ = check("# oomaudit: ignore[STUB001] the next line is known\n"
                      "warn a\nwarn b\n")
    assert found(report) == [("STUB001", 3)]
    assert report["summary"]["suppressed"] == 1


def test_two_lines_above_does_not_cover(check):
    report, _ = check("# oomaudit: ignore[STUB001]\n\nwarn a\n")
    assert found(report) == [("STUB001", 3)]
    assert report["summary"]["suppressed"] == 0


def test_ignore_file(check):
    report, plain = check("warn a\nbogus\n# oomaudit: ignore-file[STUB001] legacy\nwarn b\n")
    assert found(report) == [("CONF001", 2)]  # other rules still report
    assert report["summary"]["suppressed"] == 2
    assert ", 2 suppressed;" in plain


@pytest.mark.parametrize("ids", ["STUB", "stub001", "CONF001, STUB001", "CONF,STUB"])
def test_prefixes_case_and_lists(check, ids):
    report, _ = check(f"warn a  # oomaudit: ignore[{ids}]\n")
    assert found(report) == [] and report["summary"]["suppressed"] == 1


def test_other_rule_id_does_not_suppress(check):
    report, _ = check("warn a  # oomaudit: ignore[STUB0011]\n")
    assert found(report) == [("STUB001", 1)]


def test_unused_suppression_is_a_notice(check):
    report, plain = check("consumer db 1G  # oomaudit: ignore[STUB001] not here\n"
                          "# oomaudit: ignore-file[CONF002]\n")
    assert found(report) == []
    assert report["notices"] == [
        "a.stub:1: unused suppression ignore[STUB001]: no such finding here",
        "a.stub:2: unused suppression ignore-file[CONF002]: no such finding here"]
    assert "notice: a.stub:1: unused suppression ignore[STUB001]" in plain
    assert "notice: a.stub:2: unused suppression ignore-file[CONF002]" in plain


def test_typo_in_id_is_reported_as_unused(check):
    report, _ = check("warn a  # oomaudit: ignore[STUB01]\n")
    assert found(report) == [("STUB001", 1)]
    assert report["notices"] == [
        "a.stub:1: unused suppression ignore[STUB01]: no such finding here"]


def test_suppression_of_a_rule_not_selected_is_not_unused(check):
    report, _ = check("warn a  # oomaudit: ignore[STUB001]\n", "--select", "CONF")
    assert report["notices"] == [] and found(report) == []


def test_suppression_of_a_rule_that_crashed_is_not_called_unused(check):
    """STUB002 never got to run: nobody can tell whether its suppression is stale."""
    report, _ = check("crash  # oomaudit: ignore[STUB002] flaky\n")
    assert report["notices"] == []
    assert report["summary"]["exit_code"] == 2


def test_used_suppression_is_not_a_notice(check):
    report, _ = check("warn a  # oomaudit: ignore[STUB001]\n")
    assert report["notices"] == []


def test_marker_outside_a_comment_is_not_a_suppression(check):
    report, _ = check("warn oomaudit: ignore[STUB001]\n")
    assert found(report) == [("STUB001", 1)]
