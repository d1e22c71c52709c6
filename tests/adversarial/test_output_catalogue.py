"""A rule catalogue is a file too (a third-party plugin's rules.toml): `oomaudit rules` and
`oomaudit explain` show its words escaped, line breaks kept, never as escape sequences the
operator's terminal would run; `rules --format json` is strict UTF-8."""
from __future__ import annotations

import json
import os

from conftest import assert_no_traceback

PLUGIN = '''
from oomaudit import Rule, Severity, hookimpl


@hookimpl
def oomaudit_rules():
    return [Rule("EVIL001", "title \\x1b[2J\\u202e", Severity.LOW, lambda host: [],
                 rationale="first line\\nsecond \\x1b]0;pwn\\x07 line", fix="fix \\x9b31m",
                 references=["https://example.org/\\x1b[31m"])]
'''
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _env(tmp_path) -> dict[str, str]:
    site = tmp_path / "site"
    (site / "oomaudit_evil-0.1.dist-info").mkdir(parents=True)
    (site / "oomaudit_evil-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: oomaudit-evil\nVersion: 0.1\n")
    (site / "oomaudit_evil-0.1.dist-info" / "entry_points.txt").write_text(
        "[oomaudit]\nevil = oomaudit_evil\n")
    (site / "oomaudit_evil.py").write_text(PLUGIN)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path}


def test_explain_and_rules_escape_a_catalogue(oomaudit, tmp_path):
    env = _env(tmp_path)
    explain = oomaudit("explain", "EVIL001", env=env)
    assert_no_traceback(explain)
    assert explain.returncode == 0, explain.stderr
    assert not any(c in explain.stdout for c in RAW), explain.stdout
    assert "EVIL001: title \\x1b[2J\\u202e" in explain.stdout
    assert "first line\nsecond \\x1b]0;pwn\\x07 line" in explain.stdout  # lines kept
    assert "fix \\x9b31m" in explain.stdout and "https://example.org/\\x1b[31m" in explain.stdout
    for fmt in ("text", "markdown"):
        listed = oomaudit("rules", "--format", fmt, env=env)
        assert "EVIL001" in listed.stdout
        assert not any(c in listed.stdout for c in RAW), listed.stdout


def test_rules_json_is_strict_utf8(oomaudit, tmp_path):
    listed = oomaudit("rules", "--format", "json", env=_env(tmp_path))
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert rows["EVIL001"]["title"] == "title \x1b[2J\u202e"  # data, as written
    assert "\\u001b" in listed.stdout and "\u202e" in listed.stdout  # not ASCII-escaped
