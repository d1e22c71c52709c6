"""What reaches the operator's terminal from hostile names and values is shown, never run:
a compose service, a folder or a file named with escape sequences (clear screen, set the
window title, reorder the line) comes out as the visible ``\\x1b`` text, in findings,
evidence, fixes, notices and errors alike."""
from __future__ import annotations

import pytest
from conftest import assert_no_traceback

RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _clean(text: str) -> None:
    assert not any(c in text for c in RAW), text


def test_findings_evidence_and_fix_escape_control_characters(oomaudit, tmp_path):
    folder = tmp_path / "svc\x1b[2J"
    folder.mkdir()
    (folder / "compose.yaml").write_text(
        'services:\n  "web\\e]0;pwn\\a\\e[2J\\u202e":\n    image: nginx\n')
    proc = oomaudit("check", ".", "--color", "never")
    assert_no_traceback(proc)
    assert proc.returncode == 1
    _clean(proc.stdout + proc.stderr)
    assert "svc\\x1b[2J/compose.yaml:2: CONTAINER001" in proc.stdout
    assert "web\\x1b]0;pwn\\x07\\x1b[2J\\u202e" in proc.stdout  # message, evidence and fix
    assert proc.stdout.count("web\\x1b]0;pwn") == 3


def test_notices_escape_file_names(oomaudit, tmp_path):
    (tmp_path / "notes\x1b[31m.txt").write_text("nothing for oomaudit here\n")
    proc = oomaudit("check", "notes\x1b[31m.txt")
    assert proc.returncode == 0
    _clean(proc.stdout + proc.stderr)
    assert "notes\\x1b[31m.txt: not a config format" in proc.stdout


@pytest.mark.parametrize("args", [
    ("check", "missing\x1b[2J.conf"),
    ("check", "--config", "gone\x9b2J.toml", "."),
    ("logs", "no\u202eexist.log"),
])
def test_usage_errors_escape_what_the_user_named(oomaudit, args):
    proc = oomaudit(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("oomaudit: error: ")
    _clean(proc.stderr)
