"""The engine's contracts: plugin failures are contained and named, the memory ledger's
arithmetic and HOST002 against RAM and RAM + swap (``oomaudit budget``: test_budget.py)."""
from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from engine_stub import assert_no_traceback, stub_env, stub_module

from oomaudit import Evidence, Finding, Rule, Severity, hookimpl
from oomaudit.config import Settings
from oomaudit.discovery import file_hosts
from oomaudit.engine import Registry, audit, prepare
from oomaudit.host import Fact
from oomaudit.ledger import Consumer, Ledger
from oomaudit.manager import load_plugins
from oomaudit.report import ERROR, FAILED, SKIPPED

G = 1 << 30
TWO_CONSUMERS = "consumer db 6G\nconsumer web 4G\n"


def registry(*extra) -> Registry:
    return Registry.build(load_plugins(extra=(("stub", stub_module()), *extra)))


def hosts(folder: Path, text: str, ram: int | None = None, swap: int | None = None,
          reg: Registry | None = None):
    (folder / "a.stub").write_text(text)
    declared = {key: Fact(value, f"declared: --{key}")
                for key, value in (("ram", ram), ("swap", swap)) if value is not None}
    return file_hosts([str(folder / "a.stub")], (reg or registry()).readers, Settings(),
                      declared, [])


# -- the ledger ----------------------------------------------------------------------------

def test_ledger_arithmetic():
    ledger = Ledger()
    ledger.add("db", 6 * G, "buffer pool", "my.cnf:3", "mysql")
    ledger.add("web", 3 * G, "children", "www.conf:9", "php")
    ledger.add("web", 1 * G, "opcache", "php.ini:2", "php")
    assert ledger.total() == 10 * G
    assert ledger.claimed_by("web") == 4 * G and ledger.claimed_by("nobody") == 0
    # what a service may use: RAM minus what every *other* service claims
    assert ledger.left_for("db", 8 * G) == 4 * G
    assert ledger.left_for("web", 8 * G) == 2 * G
    assert ledger.left_for("cron", 8 * G) == -2 * G  # the others already exceed RAM


def test_two_stub_consumers_fill_the_ledger_through_the_plugin_hook(tmp_path):
    reg = registry()
    (host,) = hosts(tmp_path, TWO_CONSUMERS, reg=reg)
    prepare(host, reg.plugins)
    shown = host.display(tmp_path / "a.stub")
    assert host.ledger.consumers == [
        Consumer("db", 6 * G, "consumer db", f"{shown}:1", "stub"),
        Consumer("web", 4 * G, "consumer web", f"{shown}:2", "stub")]
    assert host.ledger.total() == 10 * G
    assert host.ledger.left_for("web", 8 * G) == 2 * G
    assert reg.plugins.errors == []


# -- HOST002: the ledger against RAM and RAM + swap ----------------------------------------

@pytest.mark.parametrize("ram, swap, severity, where", [
    (10 * G, None, None, None),  # exactly RAM: fits
    (16 * G, 0, None, None),
    (8 * G, None, "high", "RAM 8.0 GiB by 2.0 GiB"),  # swap unknown: cannot say critical
    (8 * G, 2 * G, "high", "RAM 8.0 GiB by 2.0 GiB"),  # swapping would save it
    (8 * G, 1 * G, "critical", "RAM + swap 9.0 GiB by 1.0 GiB"),  # not even swap
    (8 * G, 0, "critical", "RAM + swap 8.0 GiB by 2.0 GiB"),
])
def test_host002_high_vs_critical(tmp_path, ram, swap, severity, where):
    reg = registry()
    report = audit(reg, hosts(tmp_path, TWO_CONSUMERS, ram, swap, reg), Settings(), "check", "t")
    found = [f for _, f in report.findings if f.rule == "HOST002"]
    if severity is None:
        assert found == []
        return
    (finding,) = found
    assert finding.severity.label == severity
    assert finding.message == f"services' worst case 10.0 GiB exceeds {where}"
    assert finding.path is None
    evidence = [str(e) for e in finding.evidence]
    assert evidence[0].startswith("2 consumers of the memory ledger: 10.0 GiB at worst (")
    assert evidence[1].startswith("db: 6.0 GiB = consumer db (") and evidence[1].endswith(":1)")
    assert "RAM = 8.0 GiB (declared: --ram)" in evidence


def test_host002_skipped_when_ram_unknown(tmp_path):
    reg = registry()
    report = audit(reg, hosts(tmp_path, TWO_CONSUMERS, reg=reg), Settings(), "check", "t")
    (run,) = [r for r in report.runs if r.rule.id == "HOST002"]
    assert run.status == SKIPPED and run.detail.startswith("ram unknown: declare it")
    assert report.exit_code() == 0


def test_host002_silent_without_consumers(tmp_path):
    reg = registry()
    report = audit(reg, hosts(tmp_path, "warn x\n", reg=reg), Settings(), "check", "t")
    (run,) = [r for r in report.runs if r.rule.id == "HOST002"]
    assert run.status != SKIPPED  # nothing to add up: RAM is not even needed


# -- failures are contained and named ------------------------------------------------------

def test_rule_crash_in_process(tmp_path):
    reg = registry()
    report = audit(reg, hosts(tmp_path, "crash\nwarn x\n", reg=reg), Settings(), "check", "t")
    (error,) = report.errors
    assert error.startswith("rule STUB002 (plugin 'stub') crashed on host default: "
                            "RuntimeError: stub rule exploded")
    status = {r.rule.id: r.status for r in report.runs}
    assert status["STUB002"] == ERROR and status["STUB001"] == FAILED
    assert report.exit_code() == 2


@pytest.mark.parametrize("yielded, wrong", [
    ("SWAP001 no swap", "'SWAP001 no swap', not a Finding"),
    (Finding("BAD001", "m", evidence=Evidence("1 GiB", "x:1")),
     "a finding whose evidence is Evidence(what='1 GiB', source='x:1'), not a list of Evidence"),
    (Finding("BAD001", "m", severity="high"), "a finding whose severity is 'high', not a Severity"),
    (Finding("BAD001", "m", "a.stub", "3"), "message and fix are text, path text or None"),
])
def test_a_malformed_finding_is_its_rules_error_not_a_reporter_crash(tmp_path, yielded, wrong):
    bad = types.ModuleType("bad")
    bad.oomaudit_rules = hookimpl(specname="oomaudit_rules")(
        lambda: [Rule("BAD001", "yields junk", Severity.LOW, lambda host: [yielded])])
    reg = registry(("bad", bad))
    report = audit(reg, hosts(tmp_path, "warn x\n", reg=reg), Settings(), "check", "t")
    (error,) = report.errors
    assert error.startswith("rule BAD001 (plugin 'bad') yielded ") and wrong in error, error
    status = {r.rule.id: r.status for r in report.runs}
    assert status["BAD001"] == ERROR and status["STUB001"] == FAILED
    assert [f.rule for _, f in report.findings] == ["STUB001"]


def test_hook_crash_is_blamed_on_its_plugin(tmp_path):
    bad = types.ModuleType("bad")

    @hookimpl
    def oomaudit_budget(host):
        raise ValueError("budget exploded")

    bad.oomaudit_budget = oomaudit_budget
    reg = registry(("bad", bad))
    report = audit(reg, hosts(tmp_path, TWO_CONSUMERS, 8 * G, reg=reg), Settings(), "check", "t")
    assert report.errors == ["plugin 'bad' failed in oomaudit_budget: ValueError: budget exploded"]
    assert [f.rule for _, f in report.findings] == ["HOST002"]  # the stub's consumers counted
    assert report.exit_code() == 2


@pytest.mark.parametrize("hook, returned, error", [
    ("oomaudit_rules", 5, "plugin 'bad' returned 5 from oomaudit_rules, not a list; ignored"),
    ("oomaudit_rules", ["SWAP009"],
     "plugin 'bad' returned 'SWAP009' from oomaudit_rules, not a Rule; ignored"),
    ("oomaudit_readers", [None], "plugin 'bad' returned None from oomaudit_readers, not a "
                                 "Reader; ignored"),
    ("oomaudit_reporters", "text", "plugin 'bad' returned 'text' from oomaudit_reporters, "
                                   "not a list; ignored")])
def test_a_hook_returning_the_wrong_thing_is_blamed_on_its_plugin(tmp_path, hook, returned,
                                                                   error):
    bad = types.ModuleType("bad")
    setattr(bad, hook, hookimpl(specname=hook)(lambda: returned))
    reg = registry(("bad", bad))
    report = audit(reg, hosts(tmp_path, TWO_CONSUMERS, 8 * G, reg=reg), Settings(), "check", "t")
    assert report.errors == [error]
    assert [f.rule for _, f in report.findings] == ["HOST002"]  # every other plugin still ran
    assert "text" in reg.reporters and "stub" in reg.readers


def test_rule_crash_on_the_cli(oomaudit, tmp_path):
    (tmp_path / "a.stub").write_text("crash\nwarn still here\n")
    proc = oomaudit("check", "a.stub", env=stub_env())
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "oomaudit: error: rule STUB002 (plugin 'stub') crashed on host default: "
        "RuntimeError: stub rule exploded"]
    assert "a.stub:2: STUB001 medium stub warning: still here" in proc.stdout
    assert "error: rule STUB002 (plugin 'stub') crashed" in proc.stdout  # in the report too


def broken_plugin(folder: Path) -> Path:
    """A plugin whose entry point imports a module that raises."""
    folder.mkdir()
    (folder / "oomaudit_broken.py").write_text("raise ImportError('needs libfoo')\n")
    meta = folder / "oomaudit_broken-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: oomaudit-broken\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text("[oomaudit]\nbroken = oomaudit_broken\n")
    return folder


def test_a_reporter_crash_is_one_line_naming_its_plugin(oomaudit, tmp_path):
    (tmp_path / "a.stub").write_text("warn x\n")
    out = tmp_path / "out.txt"
    proc = oomaudit("check", "a.stub", "--format", "stub-crash", "-o", str(out), env=stub_env())
    assert_no_traceback(proc)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr == ("oomaudit: error: --format stub-crash: reporter of plugin 'stub' "
                           "failed: ValueError: stub reporter exploded\n")


def test_plugin_that_fails_to_import_is_named_in_one_line(oomaudit, tmp_path):
    site = broken_plugin(tmp_path / "site")
    env = stub_env()
    env["PYTHONPATH"] = f"{site}:{env['PYTHONPATH']}"
    proc = oomaudit("rules", env=env)
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "oomaudit: error: plugin 'broken' (oomaudit_broken) failed to load: "
        "ImportError: needs libfoo"]
    listed = {line.split()[0] for line in proc.stdout.splitlines()}
    assert {"CONF001", "HOST002", "STUB001"} <= listed  # the other plugins still load

    (tmp_path / "a.stub").write_text("warn x\n")
    proc = oomaudit("check", "a.stub", "--format", "json", env=env)
    report = json.loads(proc.stdout)
    assert proc.returncode == 2 and report["summary"]["exit_code"] == 2
    assert [f["rule"] for f in report["findings"]] == ["STUB001"]
    assert any("plugin 'broken'" in e for e in report["errors"])

    proc = oomaudit("rules", "--no-plugins", env=env)  # third-party plugins switched off
    assert proc.returncode == 0 and proc.stderr == "" and "STUB001" not in proc.stdout



def test_what_a_rule_could_not_read_is_reported_whatever_its_id(tmp_path):
    """A rule that reads as it runs (an include, a lazily read log) and meets an unreadable
    source notes a CONF003: it is reported though the CONF rules sort before its id."""
    late = types.ModuleType("late")

    def check(host):
        host.note_unreadable("live: /dev/kmsg", "permission denied")
        return []
    late.oomaudit_rules = hookimpl(specname="oomaudit_rules")(
        lambda: [Rule("ZZZ001", "reads as it runs", Severity.LOW, check)])
    reg = registry(("late", late))
    report = audit(reg, hosts(tmp_path, "warn x\n", reg=reg), Settings(), "check", "t")
    assert [f.message for _, f in report.findings if f.rule == "CONF003"] == [
        "could not read live: /dev/kmsg: permission denied"]
