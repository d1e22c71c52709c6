"""A source that cannot be read is a CONF003 naming it, and every rule that reads its format
is *skipped* with the file named, not passed, in every format (text notice and summary, JSON
rules and summary, JUnit skipped cases, SARIF notifications): an audit that did not see a file
must not report the file's rules as clean. A rule that found something in the files it could
read still fails. Root reads any mode, so the unreadable files here are a FIFO and a file past
the size cap (permission denied takes the same path through ``Host.unreadable``)."""
from __future__ import annotations

import json
import os
from xml.etree import ElementTree

from conftest import assert_no_traceback
from junitparser import JUnitXml

CAP = 16 << 20  # the default size cap

MYSQL = ("MYSQL001", "MYSQL002", "MYSQL003")


def _tree(tmp_path):
    etc = tmp_path / "tree" / "etc"
    (etc / "mysql").mkdir(parents=True)
    os.mkfifo(etc / "mysql" / "my.cnf")  # open() would wait for a writer forever
    (etc / "sysctl.d").mkdir()
    with open(etc / "sysctl.d" / "10-huge.conf", "wb") as fh:  # past the cap, sparse
        fh.truncate(CAP + 1)
    (etc / "sysctl.d" / "20-panic.conf").write_text("vm.panic_on_oom = 1\n")
    return tmp_path / "tree"


def _run(oomaudit, tmp_path, *formats):
    _tree(tmp_path)
    args = []
    for fmt in formats:
        args += ["--format", fmt, "-o", f"out.{fmt}"]
    proc = oomaudit("scan", "--root", "tree", "--ram", "4G", *args)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return {fmt: (tmp_path / f"out.{fmt}").read_text() for fmt in formats}


def test_rules_of_an_unreadable_file_are_skipped_naming_it_in_json(oomaudit, tmp_path):
    report = json.loads(_run(oomaudit, tmp_path, "json")["json"])
    runs = {r["rule"]: r for r in report["rules"]}
    for rule in MYSQL:
        assert runs[rule]["status"] == "skipped"
        assert "tree/etc/mysql/my.cnf (not a regular file" in runs[rule]["detail"]
    conf003 = {f["path"]: f["message"] for f in report["findings"] if f["rule"] == "CONF003"}
    assert "tree/etc/mysql/my.cnf" in conf003
    assert "16.0 MiB" in conf003["tree/etc/sysctl.d/10-huge.conf"]
    assert report["summary"]["rules_skipped"] == len(
        {r["rule"] for r in report["rules"] if r["status"] == "skipped"}) >= 4


def test_a_rule_that_found_something_in_the_readable_files_fails(oomaudit, tmp_path):
    report = json.loads(_run(oomaudit, tmp_path, "json")["json"])
    runs = {r["rule"]: r for r in report["rules"]}
    panic = [f["rule"] for f in report["findings"]
             if f["path"] == "tree/etc/sysctl.d/20-panic.conf"]
    assert panic and all(runs[rule]["status"] == "failed" for rule in panic)
    others = [r for r in report["rules"] if r["plugin"] == "sysctl" and r["rule"] not in panic]
    assert others and all(r["status"] == "skipped" for r in others)
    assert all("10-huge.conf (larger than 16.0 MiB" in r["detail"] for r in others)
    # rules reading no format of the unreadable files are not touched
    assert runs["SWAP001"]["status"] != "skipped"


def test_text_names_the_skipped_rules_and_the_file(oomaudit, tmp_path):
    text = _run(oomaudit, tmp_path, "text")["text"]
    assert ("notice: MYSQL001, MYSQL002, MYSQL003 skipped: could not read tree/etc/mysql/my.cnf "
            "(not a regular file") in text
    assert "tree/etc/mysql/my.cnf: CONF003" in text
    last = text.splitlines()[-1]
    assert "rules checked, " in last and " skipped;" in last


def test_junit_cases_are_skipped_and_sarif_notifies(oomaudit, tmp_path):
    out = _run(oomaudit, tmp_path, "junit", "sarif")
    skipped = {}
    for suite in JUnitXml.fromstring(out["junit"]):
        for case in suite:
            for result in case.result:
                if result._tag == "skipped":
                    skipped[case.name.split()[0]] = result.message or result.text
    for rule in MYSQL:
        assert "tree/etc/mysql/my.cnf" in skipped[rule]
    ElementTree.fromstring(out["junit"])  # well-formed XML 1.0
    run = json.loads(out["sarif"])["runs"][0]
    notes = [n["message"]["text"] for inv in run["invocations"]
             for n in inv.get("toolExecutionNotifications", [])]
    for rule in MYSQL:
        assert any(n.startswith(f"{rule} skipped: could not read tree/etc/mysql/my.cnf")
                   for n in notes), notes
