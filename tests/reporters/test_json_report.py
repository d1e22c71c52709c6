"""The JSON report: real CLI output validates against oomaudit/report.schema.json, and the
fields mean what the schema says (counts match the findings, exit_code is the exit code)."""
from __future__ import annotations

import copy
import json
from collections import Counter

import jsonschema
import pytest
from engine_stub import json_report, schema, stub_env, validate

from oomaudit import __version__

SEVERITIES = ["info", "low", "medium", "high", "critical"]

STUB = """\
consumer db 6G
consumer web 4G
warn first  # a finding at line 3
warn second
"""


def check_summary(report: dict) -> None:
    """summary is derived from the lists, never counted separately."""
    findings, summary = report["findings"], report["summary"]
    assert summary["findings"] == len(findings)
    counts = Counter(f["severity"] for f in findings)
    assert summary["by_severity"] == {s: counts.get(s, 0) for s in SEVERITIES}
    threshold = SEVERITIES.index(report["fail_on"])
    assert summary["failing"] == sum(SEVERITIES.index(f["severity"]) >= threshold
                                     for f in findings)
    assert summary["rules_checked"] == len({r["rule"] for r in report["rules"]})
    hosts = {h["name"] for h in report["hosts"]}
    assert {f["host"] for f in findings} <= hosts
    assert {r["host"] for r in report["rules"]} <= hosts


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_live_scan(oomaudit):
    proc = oomaudit("scan", "--format", "json")
    report = json_report(proc)
    check_summary(report)
    assert report["tool"] == {"name": "oomaudit", "version": __version__}
    assert (report["command"], report["target"]) == ("scan", "live host")
    (host,) = report["hosts"]
    assert host["mode"] == "live"
    # measured, and saying so: RAM is never invented for a live host
    assert host["facts"]["ram"]["value"] > 0
    assert host["facts"]["ram"]["source"].startswith("live: ")
    assert host["facts"]["swap"]["source"].startswith("live: ")
    assert proc.returncode in (0, 1)


def test_offline_tree_scan(oomaudit, tmp_path):
    (tmp_path / "image" / "etc").mkdir(parents=True)
    proc = oomaudit("scan", "--root", "image", "--format", "json", "--ram", "4G")
    report = json_report(proc)
    check_summary(report)
    (host,) = report["hosts"]
    assert (report["target"], host["mode"]) == ("image", "root")
    assert host["facts"]["ram"] == {"value": 4 << 30, "source": "declared: --ram"}
    assert "swap" not in host["facts"]  # never measured on the machine running the audit


def test_check_folder_with_findings(oomaudit, tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "app.stub").write_text(STUB)
    proc = oomaudit("check", "repo", "--format", "json", "--ram", "8G", "--swap", "1G",
                    env=stub_env())
    report = json_report(proc)
    check_summary(report)
    assert proc.returncode == 1
    assert (report["command"], report["target"], report["fail_on"]) == ("check", "repo", "low")
    (host,) = report["hosts"]
    assert host["mode"] == "files"
    assert host["facts"]["ram"] == {"value": 8 << 30, "source": "declared: --ram"}
    assert host["facts"]["swap"] == {"value": 1 << 30, "source": "declared: --swap"}
    assert [(c["service"], c["bytes"], c["source"]) for c in host["ledger"]] == [
        ("db", 6 << 30, "repo/app.stub:1"), ("web", 4 << 30, "repo/app.stub:2")]

    stub = [f for f in report["findings"] if f["rule"] == "STUB001"]
    assert [(f["path"], f["line"]) for f in stub] == [("repo/app.stub", 3), ("repo/app.stub", 4)]
    first = stub[0]
    assert first["severity"] == "medium" and first["message"] == "stub warning: first"
    assert first["evidence"] == [{"what": "warn first", "source": "repo/app.stub:3"}]
    assert first["fix"] == "remove the warn line"
    assert first["plugin"] == "stub" and first["docs"] == "oomaudit explain STUB001"
    assert first["host"] == host["name"]

    (host002,) = [f for f in report["findings"] if f["rule"] == "HOST002"]
    assert host002["severity"] == "critical"  # 10 GiB > 8 GiB RAM + 1 GiB swap
    assert host002["path"] is None and host002["line"] is None

    status = {r["rule"]: r["status"] for r in report["rules"]}
    assert status["STUB001"] == "failed" and status["STUB002"] == "passed"
    assert status["CONF001"] == "passed"


def test_error_run_is_exit_2_and_names_the_rule(oomaudit, tmp_path):
    (tmp_path / "boom.stub").write_text("crash\nwarn still reported\n")
    proc = oomaudit("check", "boom.stub", "--format", "json", env=stub_env())
    report = json_report(proc)
    check_summary(report)
    assert proc.returncode == 2
    (error,) = report["errors"]
    assert "STUB002" in error and "'stub'" in error and "stub rule exploded" in error
    runs = {r["rule"]: r for r in report["rules"]}
    assert runs["STUB002"]["status"] == "error" and runs["STUB002"]["detail"] == error
    assert runs["STUB001"]["status"] == "failed"  # the other rules still ran


def test_exit_zero_and_fail_on_are_reflected(oomaudit, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    proc = oomaudit("check", "a.stub", "--format", "json", "--exit-zero", env=stub_env())
    assert proc.returncode == 0
    assert json_report(proc)["summary"]["failing"] == 1
    proc = oomaudit("check", "a.stub", "--format", "json", "--fail-on", "high", env=stub_env())
    report = json_report(proc)
    assert (proc.returncode, report["fail_on"], report["summary"]["failing"]) == (0, "high", 0)


def test_output_file_holds_the_same_report(oomaudit, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    proc = oomaudit("check", "a.stub", "--format", "json", "-o", "out.json", env=stub_env())
    assert proc.stdout == "" and proc.returncode == 1
    report = json.loads((tmp_path / "out.json").read_text())
    validate(report)
    assert report["summary"]["exit_code"] == 1
    assert not list(tmp_path.glob(".*oomaudit-tmp"))


@pytest.mark.parametrize("mutate", [
    lambda r: r.update(extra=1),
    lambda r: r["findings"][0].update(severity="urgent"),
    lambda r: r["findings"][0].pop("fix"),
    lambda r: r["rules"][0].update(status="maybe"),
    lambda r: r["summary"].update(exit_code=3),
    lambda r: r["hosts"][0]["facts"]["ram"].update(value="8G"),
    lambda r: r.update(schema_version=1),
], ids=["top-level key", "severity", "finding key", "status", "exit code", "ram", "version"])
def test_schema_rejects_what_consumers_must_not_see(oomaudit, tmp_path, mutate):
    """The schema is strict where a consumer relies on it; otherwise it tests nothing."""
    (tmp_path / "a.stub").write_text("warn x\n")
    report = json_report(oomaudit("check", "a.stub", "--format", "json", "--ram", "1G",
                                  env=stub_env()))
    bad = copy.deepcopy(report)
    mutate(bad)
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
