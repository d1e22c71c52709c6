"""A quieter, more honest command line: --quiet, --statistics, --color with FORCE_COLOR and
NO_COLOR, one notice per reason rules were skipped for, and ``explain`` of a prefix; all
through the real CLI, checked against the JSON report of the same run where they count."""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from engine_stub import assert_no_traceback, json_report, one_line_error, stub_env
from test_cli import run_on_tty

NO_SYSTEM_CONFIG = {"OOMAUDIT_SYSTEM_CONFIG": "/nonexistent/oomaudit.toml"}
ESC = "\x1b["


@pytest.fixture
def run(oomaudit):
    def run(*args, **env):
        proc = oomaudit(*args, env={**stub_env(), **NO_SYSTEM_CONFIG, **env})
        assert_no_traceback(proc)
        return proc
    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def without_time(proc) -> dict:
    report = json_report(proc)
    del report["generated_at"]
    return report


# -- --quiet -------------------------------------------------------------------------------

@pytest.fixture
def image(tmp_path) -> str:
    """A tree whose scan prints findings, the sysctl policy table and a notice."""
    write(tmp_path / "image/etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
    write(tmp_path / "image/etc/sysctl.conf", "vm.overcommit_memory = 1\n")
    return "image"


def test_quiet_prints_the_findings_and_the_summary_only(run, image):
    args = ("scan", "--root", image, "--ram", "8G", "--ignore", "NOPE9")
    full, quiet = run(*args), run(*args, "--quiet")
    assert "Kernel memory policy (sysctl)" in full.stdout
    assert "notice: ignore pattern 'NOPE9' matches no rule" in full.stdout
    findings = full.stdout.split("\n\n")[0]  # every finding, before the tables
    assert "SWAP001" in findings and "SYSCTL002" in findings
    assert quiet.stdout == findings + "\n\n" + full.stdout.splitlines()[-1] + "\n"
    assert quiet.returncode == full.returncode == 1
    assert run(*args, "-q").stdout == quiet.stdout


def test_quiet_still_says_what_went_wrong(run, tmp_path):
    write(tmp_path / "a.stub", "crash\nwarn x\n")
    proc = run("check", "a.stub", "-q")
    assert proc.returncode == 2
    assert "error: rule STUB002 (plugin 'stub') crashed" in proc.stdout


def test_quiet_and_statistics_leave_json_whole(run, image):
    args = ("scan", "--root", image, "--ram", "8G", "--format", "json")
    plain = without_time(run(*args))
    assert without_time(run(*args, "--quiet", "--statistics")) == plain
    assert plain["hosts"][0]["tables"] and plain["findings"]


# -- --statistics --------------------------------------------------------------------------

def test_statistics_counts_each_rule_instead_of_printing_each_finding(run, tmp_path):
    write(tmp_path / "a.stub", "warn a\nwarn b\nbogus\n")
    write(tmp_path / "b.stub", "warn c\n")
    proc = run("check", ".", "--statistics")
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["3  STUB001  medium    Stub warning",
                         "1  CONF001  high      Config file cannot be parsed as its program would"]
    assert "stub warning: a" not in proc.stdout and "evidence:" not in proc.stdout
    assert lines[-1].startswith("4 findings (1 high, 3 medium)") and proc.returncode == 1
    # the counts are the JSON report's
    counted = Counter({(m[2], m[3]): int(m[1]) for m in
                       (re.match(r"(\d+)  (\S+) +(\S+)  ", line) for line in lines[:2])})
    report = json_report(run("check", ".", "--format", "json"))
    assert counted == Counter((f["rule"], f["severity"]) for f in report["findings"])


def test_statistics_splits_a_rule_by_severity_and_sorts_by_count(run, tmp_path):
    write(tmp_path / "a.stub", "warn a\nwarn b\n")
    write(tmp_path / "legacy/b.stub", "warn c\nwarn d\nwarn e\n")
    write(tmp_path / "legacy/.oomaudit.toml", '[severity]\nSTUB001 = "low"\n')
    proc = run("check", ".", "--statistics", "--quiet")
    *counts, blank, summary = proc.stdout.splitlines()
    assert counts == ["3  STUB001  low       Stub warning",
                      "2  STUB001  medium    Stub warning"]
    assert blank == "" and summary.startswith("5 findings (2 medium, 3 low) on 2 hosts; ")


def test_statistics_without_findings_is_the_summary(run, tmp_path):
    write(tmp_path / "a.stub", "consumer db 1G\n")
    proc = run("check", "a.stub", "--ram", "8G", "--statistics")
    [summary] = proc.stdout.splitlines()
    assert summary.startswith("0 findings") and proc.returncode == 0


# -- --color, FORCE_COLOR, NO_COLOR --------------------------------------------------------

@pytest.fixture
def stub(tmp_path) -> Path:
    write(tmp_path / "a.stub", "warn x\n")
    return tmp_path


@pytest.mark.parametrize("args, env, coloured", [
    (["--color", "always"], {}, True),
    (["--color", "auto"], {}, False),  # a pipe
    ([], {"FORCE_COLOR": "1"}, True),  # NO_COLOR=1 is set too: FORCE_COLOR is the narrower
    ([], {"FORCE_COLOR": ""}, False),  # empty does not count
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    (["--no-color"], {"FORCE_COLOR": "1"}, False),
    (["--color", "always", "--no-color"], {}, False),  # the last one given wins, as argparse
    (["--no-color", "--color", "always"], {}, True),
], ids=["always", "auto-in-a-pipe", "FORCE_COLOR", "empty-FORCE_COLOR", "never-over-FORCE",
        "no-color-over-FORCE", "no-color-last", "always-last"])
def test_colour_in_a_pipe(run, stub, args, env, coloured):
    proc = run("check", "a.stub", *args, **env)  # the fixture sets NO_COLOR=1
    assert proc.returncode == 1 and "STUB001" in proc.stdout
    assert (ESC in proc.stdout) is coloured


def test_colour_into_a_file_only_when_asked_for(run, stub):
    run("check", "a.stub", "-o", "forced.txt", FORCE_COLOR="1")
    run("check", "a.stub", "-o", "always.txt", "--color", "always")
    assert ESC not in (stub / "forced.txt").read_text()
    assert ESC in (stub / "always.txt").read_text()


def test_json_is_never_coloured(run, stub):
    proc = run("check", "a.stub", "--format", "json", "--color", "always", FORCE_COLOR="1")
    assert ESC not in proc.stdout and json_report(proc)["findings"]


@pytest.mark.parametrize("args, coloured", [
    ([], True), (["--color", "never"], False), (["--no-color"], False),
    (["--color", "always"], True)])
def test_colour_on_a_terminal(stub, args, coloured):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    out = run_on_tty(stub, ["check", "a.stub", *args], {**env, **stub_env()})
    assert "STUB001" in out and (ESC in out) is coloured


def test_a_colour_that_is_no_choice_is_one_line(run, stub):
    error = one_line_error(run("check", "a.stub", "--color", "sometimes"))
    assert "argument --color: invalid choice: 'sometimes'" in error


# -- skipped rules: one notice per reason ----------------------------------------------------

def test_rules_skipped_for_one_reason_are_one_notice(run, tmp_path):
    write(tmp_path / "my.cnf", "[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    write(tmp_path / "postgresql.conf", "shared_buffers = 4GB\n")
    write(tmp_path / "fstab", "UUID=1 / ext4 defaults 0 1\n")
    text = run("check", ".").stdout
    report = json_report(run("check", ".", "--format", "json"))
    skipped: dict[str, set[str]] = {}
    for r in report["rules"]:
        if r["status"] == "skipped":
            skipped.setdefault(r["detail"], set()).add(r["rule"])
    assert len(skipped) == 1  # RAM unknown, for MySQL, PostgreSQL and the ledger
    [(why, rules)] = skipped.items()
    assert {"MYSQL001", "MYSQL002", "PG001", "PG002"} <= rules
    notices = [line for line in text.splitlines() if "skipped:" in line]
    assert notices == [f"notice: {', '.join(sorted(rules))} skipped: {why}"]
    assert why.startswith("ram unknown: declare it with --ram")


# -- explain PREFIX --------------------------------------------------------------------------

def rule_table(run) -> list[dict]:
    proc = run("rules", "--format", "json")
    assert proc.returncode == 0
    return json.loads(proc.stdout)


@pytest.mark.parametrize("prefix", ["SWAP", "swap00", "STUB", "h"])
def test_explain_a_prefix_lists_its_rules(run, prefix):
    proc = run("explain", prefix)
    assert proc.returncode == 0 and proc.stderr == ""
    expected = [f"{r['id']:<14} {r['severity']:<9} {r['title']}" for r in rule_table(run)
                if r["id"].startswith(prefix.upper())]
    assert expected and proc.stdout.splitlines() == expected


def test_explain_an_exact_id_explains_it(run):
    proc = run("explain", "swap001")
    assert proc.returncode == 0 and proc.stdout.startswith("SWAP001: No swap")
    assert "\nWhy it matters\n" in proc.stdout


@pytest.mark.parametrize("wanted", ["NOPE", "SWAP0011", "", " "])
def test_explain_of_nothing_known_is_one_line(run, wanted):
    error = one_line_error(run("explain", wanted))
    assert f"unknown rule {wanted!r}: no rule id is or starts with it" in error
