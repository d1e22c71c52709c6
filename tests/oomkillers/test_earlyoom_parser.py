"""/etc/default/earlyoom read as earlyoom.service hands it to earlyoom: the EnvironmentFile
syntax, the split of $EARLYOOM_ARGS, getopt_long's reading, earlyoom's checks of its values;
and, with hypothesis, any file gives findings or CONF001, never a traceback."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.oomkillers.critical import process_names
from oomaudit.plugins.oomkillers.earlyoom import environment, getopt, parse, words

from oomaudit.cli import main
from oomaudit.reading import Source


def parsed(tmp_path, text: str):
    """(exit code, report) of ``oomaudit check earlyoom`` on ``text``."""
    path = tmp_path / "earlyoom"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", str(path), "--format", "json"])
    return code, json.loads(out.getvalue())


def test_environment_file_as_systemd_reads_it():
    text = ("# comment\n; also a comment\n  FOO = bar  \nA='x  \"y\"'\nB=\"a\\\"b\"\n"
            "C=one \\\n two\nD=c # not a comment\nbad line\nA=last\n")
    env = environment(text)
    assert env["FOO"] == ("bar", 3)
    assert env["A"] == ("last", 10)  # the last assignment wins
    assert env["B"] == ('a"b', 5)
    assert env["C"] == ("one  two", 6)  # a trailing backslash joins the next line
    assert env["D"] == ("c # not a comment", 8)
    assert "bad" not in env


def test_args_are_split_and_unquoted_as_systemd_expands_a_bare_variable():
    [(value, _)] = environment("EARLYOOM_ARGS=\"-m 5 --avoid '(^|/)(sshd|X)$'\"\n").values()
    assert words(value) == ["-m", "5", "--avoid", "(^|/)(sshd|X)$"]
    assert words("--prefer 'unclosed x") == ["--prefer", "unclosed x"]  # relaxed, as systemd


def test_getopt_long_reading():
    assert getopt(["-m15,5", "-dn", "--pref=a", "--avoid", "b", "-r", "0"]) == [
        ("-m", "15,5"), ("-d", None), ("-n", None), ("--prefer", "a"), ("--avoid", "b"),
        ("-r", "0")]
    for bad in (["-x"], ["-m"], ["--bogus"], ["5"], ["--dryrun=1"], ["--", "x"]):
        with pytest.raises(ValueError):
            getopt(bad)


@pytest.mark.parametrize("args, term, kill", [
    ("", 10, 5), ("-m 15", 15, 7.5), ("-m 15,5", 15, 5), ("-m 10,20", 20, 20),
    ("-m 0x10", 16, 8), ("-m 5,", 5, 0), ("-m 1 -m 3", 3, 1.5)])
def test_memory_threshold(tmp_path, args, term, kill):
    path = tmp_path / "earlyoom"
    path.write_text(f'EARLYOOM_ARGS="{args}"\n')
    config = parse(Source(path, "earlyoom", path.read_text()))
    assert (config.memory.term, config.memory.kill, config.starts) == (term, kill, True)


@pytest.mark.parametrize("args", ["-m 100", "-m 0", "-m -1", "-m 5x", "-s 101", "--ignor x",
                                  "--prefer '('", "extra"])
def test_what_earlyoom_refuses_is_conf001(tmp_path, args):
    code, report = parsed(tmp_path, f'EARLYOOM_ARGS="{args}"\n')
    assert code == 1 and report["errors"] == []
    [finding] = report["findings"]
    assert finding["rule"] == "CONF001" and finding["line"] == 1
    assert "earlyoom refuses EARLYOOM_ARGS" in finding["message"]


def test_process_names_of_unit_patterns():
    assert process_names("ssh") == ("sshd",)
    assert process_names("postgresql@*") == ("postgres",)
    assert process_names("php8.2-fpm.service") == ("php-fpm8.2",)
    assert process_names("mariadb") == ("mariadbd", "mysqld")
    assert process_names("a-very-long-daemon-name@*") == ("a-very-long-dae",)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(["-m", "-s", "-M", "-S", "--prefer", "--avoid", "--ignore", "5",
                              "15,5", "x(", "'", '"', "\\", "-dn", "--", "=", "0x1p3", " "]),
             max_size=8).map(lambda ws: 'EARLYOOM_ARGS="' + " ".join(ws) + '"\n')))
def test_any_file_gives_findings_or_conf001_never_a_traceback(tmp_path, text):
    code, report = parsed(tmp_path, text)
    assert report["errors"] == [] and code in (0, 1)
    assert {f["rule"] for f in report["findings"]} <= {"CONF001", "USERKILL001", "USERKILL002"}
