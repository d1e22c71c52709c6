"""``--format prometheus`` (node_exporter's textfile collector) and the alert rules in
contrib/prometheus, checked by the programs that consume them: prometheus_client's text
parser and ``promtool check metrics``; ``promtool check rules`` and ``promtool test rules``."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, assert_no_traceback, need_program
from engine_stub import stub_env
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from prometheus_helpers import host_tree, parse

from oomaudit.cli import main
from oomaudit.host import terminal
from oomaudit.reporters.prometheus import Family, exposition

ALERTS = REPO / "contrib" / "prometheus"
GiB = 1 << 30


def promtool_metrics(text: str) -> subprocess.CompletedProcess:
    promtool = need_program("promtool", "the Prometheus package's linter for exposition text")
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)


def test_a_scan_with_findings_ledger_and_kills(oomaudit, tmp_path):
    root, last = host_tree(tmp_path)
    out = tmp_path / "textfile" / "oomaudit.prom"
    out.parent.mkdir()
    args = ("scan", "--root", root, "--ram", "4G", "--swap", "1G")
    proc = oomaudit(*args, "--format", "prometheus", "-o", out)
    assert_no_traceback(proc)
    assert proc.returncode == 1 and proc.stdout == "", proc.stderr
    text = out.read_text()
    lint = promtool_metrics(text)
    assert lint.returncode == 0 and lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    metrics = parse(text)
    report = json.loads(oomaudit(*args, "--format", "json").stdout)

    def values(name: str) -> dict:
        kind, help_text, samples = metrics[name]
        assert kind == "gauge" and help_text
        return {tuple(sorted(labels)): value for labels, value in samples.items()}

    host = (("host", "db1"),)
    found = values("oomaudit_findings")
    expected = {}
    for f in report["findings"]:
        key = (("host", "db1"), ("rule", f["rule"]), ("severity", f["severity"]))
        expected[key] = expected.get(key, 0) + 1
    assert found == expected
    assert {"MYSQL001", "SYSTEMD001", "KLOG001"} <= {dict(k)["rule"] for k in found}
    [mysql] = [c for c in report["hosts"][0]["ledger"] if c["service"] == "mysql"]
    assert values("oomaudit_ledger_worst_case_bytes")[
        (("host", "db1"), ("plugin", "mysql"), ("service", "mysql"))] == mysql["bytes"]
    assert values("oomaudit_ram_bytes") == {host: 4 * GiB}
    assert values("oomaudit_swap_bytes") == {host: 1 * GiB}
    assert values("oomaudit_oom_kills") == {(("host", "db1"), ("process", "mysqld")): 2,
                                            (("host", "db1"), ("process", "php-fpm8.2")): 1}
    assert values("oomaudit_last_oom_kill_timestamp_seconds")[
        (("host", "db1"), ("process", "mysqld"))] == last.timestamp()
    assert abs(values("oomaudit_last_run_timestamp_seconds")[host] - time.time()) < 120
    assert values("oomaudit_last_run_success") == {host: 1}
    skipped = sum(1 for r in report["rules"] if r["status"] == "skipped")
    assert values("oomaudit_rules_skipped") == {host: skipped}
    assert values("oomaudit_rules_checked") == {host: len(report["rules"])}
    # the alert rules read only what is written (a rename would silence an alert)
    used = set(re.findall(r"\boomaudit_[a-z_]+", (ALERTS / "oomaudit-alerts.yml").read_text()))
    assert used and used <= set(metrics), used - set(metrics)


def test_a_failed_rule_writes_the_metrics_with_success_0(oomaudit, tmp_path):
    """Exit 2 with a report: the file says the run failed, so the alert can."""
    (tmp_path / "a.stub").write_text("consumer db 6G\ncrash\n")
    proc = oomaudit("check", "a.stub", "--format", "prometheus", env=stub_env())
    assert proc.returncode == 2 and "stub rule exploded" in proc.stderr
    metrics = parse(proc.stdout)
    assert list(metrics["oomaudit_last_run_success"][2].values()) == [0]
    assert list(metrics["oomaudit_ledger_worst_case_bytes"][2].values()) == [6 * GiB]
    assert promtool_metrics(proc.stdout).returncode == 0


HOSTILE = 'db"1\\x\nend\x1b[31m\x7f\u0085ü'


def test_label_values_are_escaped_as_the_format_requires(oomaudit, tmp_path):
    """A host name comes from a directory name: quotes, backslashes, newlines, and a
    terminal escape sequence, which the format cannot escape and we show as text."""
    root, _ = host_tree(tmp_path, HOSTILE)
    proc = oomaudit("scan", "--root", root, "--ram", "4G", "--format", "prometheus")
    assert proc.returncode == 1, proc.stderr
    assert "\x1b" not in proc.stdout and "\x7f" not in proc.stdout
    lint = promtool_metrics(proc.stdout)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    hosts = {dict(labels)["host"] for _, _, samples in parse(proc.stdout).values()
             for labels in samples}
    assert hosts == {'db"1\\x\\nend\\x1b[31m\\x7f\\x85ü'}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(exclude_categories=())), min_size=1, max_size=5,
                unique=True), st.text(st.characters(exclude_categories=())))
def test_any_text_reads_back_as_a_terminal_shows_it(values, help_text):
    """Any label value or help text, lone surrogates (JSON's "\\ud800") included, is read
    back as ``host.terminal`` shows it, and no control character reaches the file."""
    help_text = help_text.strip()  # a HELP line's own spaces are the format's
    families = [Family("oomaudit_test_bytes", "gauge", help_text,
                       [({"host": v, "n": str(i)}, i) for i, v in enumerate(values)])]
    text = exposition(families)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    [family] = text_string_to_metric_families(text)
    assert family.documentation == terminal(help_text)
    samples = {s.labels["n"]: s.labels["host"] for s in family.samples}
    assert samples == {str(i): terminal(v) for i, v in enumerate(values)}


def test_families_of_many_reports_are_written_as_one():
    """What a fleet does: one family per metric name, samples of every host."""
    text = exposition([
        Family("oomaudit_ram_bytes", "gauge", "RAM", [({"host": "a"}, 1)]),
        Family("oomaudit_empty", "gauge", "no samples, no lines", []),
        Family("oomaudit_ram_bytes", "gauge", "RAM", [({"host": "b"}, 2.5)]),
    ])
    assert text == ('# HELP oomaudit_ram_bytes RAM\n# TYPE oomaudit_ram_bytes gauge\n'
                    'oomaudit_ram_bytes{host="a"} 1\noomaudit_ram_bytes{host="b"} 2.5\n')


def test_output_is_replaced_atomically_outside_the_collectors_glob(tmp_path, monkeypatch,
                                                                   capsys):
    """node_exporter reads *.prom: the temporary file must not match, and a reader of the
    old file keeps a whole file while the new one is renamed over it."""
    root, _ = host_tree(tmp_path)
    out = tmp_path / "collector" / "oomaudit.prom"
    out.parent.mkdir()
    out.write_text("# old\n")
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((Path(src), Path(dst)))
        assert Path(src).read_text().startswith("# HELP")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    with open(out) as old:
        code = main(["scan", "--root", str(root), "--ram", "4G", "--format", "prometheus",
                     "-o", str(out)])
        assert old.read() == "# old\n"
    assert code == 1
    [(src, dst)] = replaced
    assert dst == out and src.parent == out.parent and not src.name.endswith(".prom")
    assert sorted(p.name for p in out.parent.iterdir()) == ["oomaudit.prom"]
    # node_exporter runs as its own user: the file is readable as the umask allows, not a
    # private temporary file's 0600
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert "oomaudit_findings" in parse(out.read_text())
    assert capsys.readouterr().out == ""


def test_a_run_in_another_format_does_not_import_the_module(tmp_path):
    (tmp_path / "fstab").write_text("UUID=1 / ext4 defaults 0 1\n")
    probe = ("import sys\nfrom oomaudit.cli import main\nmain(sys.argv[1:])\n"
             "print('oomaudit.reporters.prometheus' in sys.modules, file=sys.stderr)")
    for fmt, imported in (("json", "False"), ("prometheus", "True")):
        proc = subprocess.run([sys.executable, "-c", probe, "check", "fstab", "--format", fmt],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.stderr.strip().splitlines()[-1] == imported, proc.stderr


def test_alert_rules_pass_promtool_check_and_their_tests():
    promtool = need_program("promtool", "validates and unit-tests the alert rules")
    for command in (["check", "rules", "oomaudit-alerts.yml"],
                    ["test", "rules", "oomaudit-alerts.test.yml"]):
        proc = subprocess.run([promtool, *command], cwd=ALERTS, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr


def test_alert_tests_fail_when_an_alert_is_wrong(tmp_path):
    """promtool test rules can fail: the same tests against a rule that never fires."""
    promtool = need_program("promtool", "unit-tests the alert rules")
    rules = (ALERTS / "oomaudit-alerts.yml").read_text()
    broken = rules.replace("time() - oomaudit_last_oom_kill_timestamp_seconds < 86400",
                           "time() - oomaudit_last_oom_kill_timestamp_seconds < 0")
    assert broken != rules
    (tmp_path / "oomaudit-alerts.yml").write_text(broken)
    (tmp_path / "oomaudit-alerts.test.yml").write_text(
        (ALERTS / "oomaudit-alerts.test.yml").read_text())
    proc = subprocess.run([promtool, "test", "rules", "oomaudit-alerts.test.yml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "OomauditOomKill" in proc.stdout + proc.stderr
