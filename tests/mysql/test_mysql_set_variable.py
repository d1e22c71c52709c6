"""``set-variable = name=value`` (issue 14.6): removed in MySQL 5.5, found in my.cnf files
copied forward since. mariadbd refuses it ("unknown variable", exit 7); ``loose-`` makes
that a warning and the setting is lost; a group the server does not read is not its
business. oomaudit says the same, proven against the installed mariadbd."""
from __future__ import annotations

import json

import pytest
from conftest import assert_no_traceback, need_program
from mysql_helpers import mariadbd_values

CASES = {
    "[mysqld]\nset-variable = max_connections=500\n": "high",
    "[mysqld]\nset_variable=key_buffer_size=64M\n": "high",
    "[mariadb]\nmax_connections = 100\nset-variable = max_connections=500\n": "high",
    "[mysqld]\nloose-set-variable = max_connections=500\n": "low",
    "[client]\nset-variable = max_allowed_packet=16M\n[mysqld]\nmax_connections = 5\n": None,
}


def _conf001(oomaudit, tmp_path, text: str) -> list[dict]:
    (tmp_path / "my.cnf").write_text(text)
    proc = oomaudit("check", "my.cnf", "--ram", "4G", "--format", "json", cwd=tmp_path)
    assert_no_traceback(proc)
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "CONF001"]


@pytest.mark.parametrize("text", CASES)
def test_set_variable_is_judged_as_the_server_judges_it(oomaudit, tmp_path, text):
    found = _conf001(oomaudit, tmp_path, text)
    severity = CASES[text]
    assert [f["severity"] for f in found] == ([severity] if severity else [])
    if severity:
        line = text.splitlines().index(next(x for x in text.splitlines() if "variable" in x))
        assert found[0]["line"] == line + 1
        assert "set-variable was removed in MySQL 5.5" in found[0]["message"]
        assert found[0]["fix"].split(" = ")[0] in text  # the variable, written the new way
    if severity == "high":
        assert found[0]["message"].startswith("mysqld refuses to start: unknown variable")


@pytest.mark.parametrize("text", CASES)
def test_mariadbd_agrees(oomaudit, tmp_path, text):
    program = need_program("mariadbd", "oracle for MySQL option files")
    found = _conf001(oomaudit, tmp_path, text)
    rc, _, stderr = mariadbd_values(program, tmp_path / "my.cnf", tmp_path)
    refuses = rc != 0
    assert refuses == any(f["severity"] == "high" for f in found), stderr
    warns = "unknown variable" in stderr and not refuses
    assert warns == any(f["severity"] == "low" for f in found), stderr
