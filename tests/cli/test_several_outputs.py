"""Several reports from one run, as checkov writes them: --format and --output repeated and
paired in order ('-' is standard output). The audit runs once; every report is rendered
before any is written, each written whole; a mistake in the pairing is one line, exit 2,
nothing written. One --format (or none) behaves as it always did."""
from __future__ import annotations

import json

import pytest
from engine_stub import json_report, one_line_error, stub_env
from junitparser import JUnitXml

from oomaudit import cli, engine


@pytest.fixture
def stub(tmp_path):
    (tmp_path / "a.stub").write_text("warn one\nwarn two\n")
    return tmp_path


def test_each_format_goes_to_its_output(oomaudit, stub):
    proc = oomaudit("check", "a.stub", "--format", "sarif", "-o", "r.sarif", "--format", "junit",
                    "-o", "r.xml", "--format", "json", "-o", "-", "--format", "gitlab",
                    "-o", "gl.json", env=stub_env())
    report = json_report(proc)
    assert proc.returncode == 1
    prints = [f["fingerprint"] for f in report["findings"]]
    assert len(prints) == 2
    sarif = json.loads((stub / "r.sarif").read_text())
    assert [r["partialFingerprints"]["oomaudit/v1"] for r in sarif["runs"][0]["results"]] == prints
    assert [e["fingerprint"] for e in json.loads((stub / "gl.json").read_text())] == prints
    assert JUnitXml.fromfile(str(stub / "r.xml")).failures == 2
    assert not list(stub.glob(".*oomaudit-tmp"))


def test_the_audit_runs_once(stub, monkeypatch, capsys):
    calls = []
    real = engine.audit

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "audit", counted)
    monkeypatch.chdir(stub)
    (stub / "compose.yaml").write_text("services:\n  web:\n    image: a\n")
    code = cli.main(["check", "compose.yaml", "--no-plugins", "--format", "json", "-o", "a.json",
                     "--format", "text", "-o", "-", "--format", "junit", "-o", "a.xml"])
    assert code == 1 and len(calls) == 1
    assert capsys.readouterr().out.startswith("compose.yaml:2: CONTAINER001 medium")
    (finding,) = json.loads((stub / "a.json").read_text())["findings"]
    assert JUnitXml.fromfile(str(stub / "a.xml")).failures == 1 and finding["fingerprint"]


def test_without_format_or_with_one_nothing_changes(oomaudit, stub):
    plain = oomaudit("check", "a.stub", env=stub_env())
    assert plain.stdout.startswith("a.stub:1: STUB001 medium stub warning: one")
    assert oomaudit("check", "a.stub", "--format", "text", env=stub_env()).stdout == plain.stdout
    proc = oomaudit("check", "a.stub", "--format", "json", "-o", "one.json", env=stub_env())
    assert proc.stdout == "" and json.loads((stub / "one.json").read_text())["findings"]
    proc = oomaudit("check", "a.stub", "-o", "text.txt", env=stub_env())
    assert (stub / "text.txt").read_text() == plain.stdout


@pytest.mark.parametrize(("args", "error"), [
    (["--format", "json", "--format", "sarif", "-o", "a.json"],
     "2 --format and 1 --output: give one --output per --format, paired in order "
     "('-' is standard output)"),
    (["--format", "json", "--format", "sarif"], "2 --format and 0 --output"),
    (["-o", "a.json", "-o", "b.json"], "1 --format and 2 --output"),
    (["--format", "json", "-o", "-", "--format", "sarif", "-o", "-"],
     "--output -: given twice; each report needs its own file"),
    (["--format", "json", "-o", "x.out", "--format", "sarif", "-o", "./x.out"],
     "--output ./x.out: given twice; each report needs its own file"),
    (["--format", "json", "-o", "a.json", "--format", "nope", "-o", "b"],
     "--format nope: unknown format"),
])
def test_a_bad_pairing_is_one_line_and_writes_nothing(oomaudit, stub, args, error):
    line = one_line_error(oomaudit("check", "a.stub", *args, env=stub_env()))
    assert line.startswith(f"oomaudit: error: {error}")
    assert sorted(p.name for p in stub.iterdir()) == ["a.stub"]


def test_a_format_that_fails_leaves_every_output_unwritten(oomaudit, stub):
    line = one_line_error(oomaudit("check", "a.stub", "--format", "json", "-o", "a.json",
                                   "--format", "stub-crash", "-o", "b.out", env=stub_env()))
    assert "--format stub-crash: reporter of plugin 'stub' failed" in line
    assert sorted(p.name for p in stub.iterdir()) == ["a.stub"]


def test_a_format_given_in_pieces_is_written_whole(oomaudit, stub):
    proc = oomaudit("check", "a.stub", "--format", "stub-pieces", "-o", "p.out",
                    "--format", "stub-pieces", "-o", "-", env=stub_env())
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == (stub / "p.out").read_text()
    assert proc.stdout.startswith("findings:\n") and proc.stdout.count("a.stub:") == 2


def test_a_format_that_fails_halfway_leaves_every_output_unwritten(oomaudit, stub):
    line = one_line_error(oomaudit("check", "a.stub", "--format", "json", "-o", "a.json",
                                   "--format", "stub-half", "-o", "b.out", env=stub_env()))
    assert "--format stub-half: reporter of plugin 'stub' failed" in line
    assert "exploded halfway" in line
    assert sorted(p.name for p in stub.iterdir()) == ["a.stub"]


def test_pieces_past_the_spool_wait_in_a_file_and_come_back_whole(tmp_path, monkeypatch):
    from oomaudit import output

    monkeypatch.setattr(output, "SPOOL_BYTES", 64)
    text = "".join(f"piece {n} é\n" for n in range(10_000))
    spool = output.held(iter(text.splitlines(keepends=True)))
    assert not isinstance(spool, str)  # past 64 bytes: in a file, not in memory
    assert output.held(iter(["a", "b"])) == "ab"  # under it: the text itself
    output.write(spool, str(tmp_path / "report.txt"))
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == text
