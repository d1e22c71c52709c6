"""``oomaudit fleet DIR``: real reports from ``scan --root`` merged and ranked; every layout
Ansible's fetch gives; hostile files (corrupt, truncated, huge, foreign, a FIFO, control
characters) are notices naming them while the rest goes on."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, assert_no_traceback, need_program
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oomaudit import fleet as fleet_mod
from oomaudit import fleetfiles, fleetview
from oomaudit.model import Severity

SCHEMA = json.loads(resources.files("oomaudit").joinpath("fleet.schema.json").read_text())
FACTS_SCHEMA = json.loads(resources.files("oomaudit").joinpath("facts.schema.json").read_text())
GiB = 1 << 30


def kill_line(when: datetime, pid: int, comm: str) -> str:
    return (f"[{when.strftime('%a %b %d %H:%M:%S %Y')}] Out of memory: Killed process {pid} "
            f"({comm}) total-vm:9000kB, anon-rss:4500kB, file-rss:0kB, shmem-rss:0kB, "
            "UID:111 pgtables:100kB oom_score_adj:0\n")


def scan(tree: Path, ram: str, out: Path) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "scan", "--root", str(tree),
                           "--ram", ram, "--format", "json", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tree.parent)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """Real reports: a MySQL whose buffer pool is 150% of 4 GiB, a php-fpm pool 17x over
    2 GiB, the same pool on 64 GiB (clean), and a clean host whose kernel log shows three
    OOM kills yesterday."""
    work = tmp_path_factory.mktemp("reports")
    killed = work / "killed"
    (killed / "var/log").mkdir(parents=True)
    yesterday = datetime.now() - timedelta(days=1)
    (killed / "var/log/kern.log").write_text(
        kill_line(yesterday, 10, "mysqld") + kill_line(yesterday + timedelta(hours=1), 11, "mysqld")
        + kill_line(yesterday, 12, "php-fpm8.2"))
    return {
        "db1": scan(REPO / "tests/mysql/fixtures/tree", "4G", work / "db1.json"),
        "web1": scan(REPO / "tests/phpfpm/fixtures/root", "2G", work / "web1.json"),
        "web2": scan(REPO / "tests/phpfpm/fixtures/root", "64G", work / "web2.json"),
        "killed": scan(killed, "64G", work / "killed.json"),
    }


def lay_out(folder: Path, reports: dict[str, dict]) -> Path:
    for name, report in reports.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "report.json").write_text(json.dumps(report))
    return folder


def fleet(oomaudit, folder: Path, *args: str) -> subprocess.CompletedProcess:
    proc = oomaudit("fleet", str(folder), *args)
    assert_no_traceback(proc)
    return proc


def as_json(oomaudit, folder: Path, *args: str) -> dict:
    proc = fleet(oomaudit, folder, "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    return data


def test_hosts_rank_by_what_their_reports_show(oomaudit, tmp_path, reports):
    data = as_json(oomaudit, lay_out(tmp_path / "fleet", reports))
    ranked = [h["name"] for h in data["hosts"]]
    # kills logged beat a prediction; then the worst case's share of RAM: 17x before 1.8x
    assert ranked == ["killed", "web1", "db1", "web2"]
    by_name = {h["name"]: h for h in data["hosts"]}
    assert by_name["killed"]["oom_kills"] == 3
    assert by_name["db1"]["ram"] == {"bytes": 4 * GiB, "source": "report"}
    assert by_name["db1"]["largest"]["service"] == "mysql"
    assert by_name["db1"]["worst_case"] == sum(c["bytes"] for c in reports["db1"]["hosts"][0]
                                               ["ledger"])
    assert by_name["web1"]["worst_case_ratio"] > 16 and by_name["web2"]["worst_case_ratio"] < 1
    assert {"MYSQL001", "MYSQL002", "HOST002"} <= set(by_name["db1"]["rules"])
    assert by_name["web2"]["rules"] == [] and by_name["web2"]["findings"]["high"] == 0
    rules = {r["rule"]: r for r in data["rules"]}
    assert rules["HOST002"]["hosts"] == ["web1", "db1"]  # in rank order
    assert rules["KLOG001"] == {"rule": "KLOG001", "severity": "high", "findings": 2,
                                "hosts": ["killed"]}
    assert data["rules"][0]["rule"] == "HOST002"  # fires on the most hosts
    total = sum(len(r["findings"]) for r in reports.values())
    assert data["summary"]["findings"] == total == sum(
        sum(h["findings"].values()) for h in data["hosts"])
    assert data["summary"]["hosts_over_ram"] == 2 and data["summary"]["hosts_with_kills"] == 1
    assert data["summary"]["exit_code"] == 1 and data["notices"] == []


def test_text_view_and_exit_codes(oomaudit, tmp_path, reports):
    folder = lay_out(tmp_path / "fleet", reports)
    proc = fleet(oomaudit, folder)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("4 hosts from 4 reports in ")
    rows = [line.split() for line in lines if line.startswith("     ")]
    assert [row[1] for row in rows[:4]] == ["killed", "web1", "db1", "web2"]
    assert "4.0 GiB (179%)" in proc.stdout and "mysql 7.1 GiB" in proc.stdout
    assert lines[-1].endswith("at or above 'low' (exit 1)")
    assert "on 3 of 4 hosts; 2 over RAM, 1 with OOM kills" in lines[-1]
    assert fleet(oomaudit, folder, "--fail-on", "critical").returncode == 0
    assert fleet(oomaudit, folder, "--exit-zero").returncode == 0
    top = fleet(oomaudit, folder, "--top", "1")
    assert "... and 3 more hosts (--top 0 lists all)" in top.stdout
    out = tmp_path / "view.json"
    assert fleet(oomaudit, folder, "--format", "json", "-o", str(out)).returncode == 1
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)


def test_kills_of_a_report_without_the_kills_table_come_from_klog_findings(oomaudit, tmp_path,
                                                                         reports):
    """Reports from before the klog plugin's oom_kills table: KLOG001's messages count."""
    older = copy.deepcopy(reports["killed"])
    assert older["hosts"][0]["tables"].pop("oom_kills")["rows"]
    data = as_json(oomaudit, lay_out(tmp_path / "fleet", {"killed": older}))
    assert data["hosts"][0]["oom_kills"] == 3


def test_clean_fleet_exits_zero(oomaudit, tmp_path, reports):
    proc = fleet(oomaudit, lay_out(tmp_path / "fleet", {"web2": reports["web2"]}))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("0 findings on 0 of 1 hosts")


def test_every_fetch_layout_is_read(oomaudit, tmp_path, reports):
    """flat: yes into DIR/HOST/, flat: no (the host's own path below DIR/HOST/), and
    DIR/HOST.json; facts.json is read beside the report."""
    folder = tmp_path / "fleet"
    (folder / "db1").mkdir(parents=True)
    (folder / "db1/report.json").write_text(json.dumps(reports["db1"]))
    deep = folder / "web1/var/lib/oomaudit"
    deep.mkdir(parents=True)
    (deep / "report.json").write_text(json.dumps(reports["web1"]))
    (folder / "web2.json").write_text(json.dumps(reports["web2"]))
    (folder / "empty").mkdir()
    (folder / ".ansible").mkdir()  # hidden entries are nobody's report
    data = as_json(oomaudit, folder)
    hosts = {h["name"]: h["report"] for h in data["hosts"]}
    assert hosts == {"db1": "db1/report.json", "web1": "web1/var/lib/oomaudit/report.json",
                     "web2": "web2.json"}
    assert data["notices"] == ["empty/: no report.json inside; no report of this host"]
    assert data["summary"]["skipped"] == 1


def test_facts_give_ram_when_the_report_has_none(oomaudit, tmp_path, reports):
    """A report made without RAM (a tree scanned with no --ram) is judged against the RAM
    `oomaudit facts` measured on the host; the report's own RAM wins when it has one."""
    report = copy.deepcopy(reports["db1"])
    report["hosts"][0]["facts"].pop("ram")
    folder = tmp_path / "fleet"
    lay_out(folder, {"db1": report, "web1": reports["web1"]})
    facts = {"schema_version": 1, "tool": {"name": "oomaudit", "version": "0"},
             "host": "db1", "mode": "live", "measured_at": "2026-03-01T04:00:00Z",
             "ram": {"value": 2 * GiB, "source": "live: psutil"}, "swap": None,
             "cgroup_limit": None, "cpus": None, "kernel": None, "sysctl": {},
             "services": [], "oom_kills": {"window": "in the last 30 days", "count": 4,
                                           "by_process": [{"process": "mysqld", "count": 4,
                                                           "last": None}]},
             "notices": []}
    jsonschema.validate(facts, FACTS_SCHEMA)  # what `oomaudit facts` writes
    (folder / "db1/facts.json").write_text(json.dumps(facts))
    (folder / "web1/facts.json").write_text(json.dumps({**facts, "ram": {"value": 999 * GiB}}))
    hosts = {h["name"]: h for h in as_json(oomaudit, folder)["hosts"]}
    assert hosts["db1"]["ram"] == {"bytes": 2 * GiB, "source": "facts"}
    assert hosts["db1"]["facts"] == "db1/facts.json" and hosts["db1"]["oom_kills"] == 4
    assert hosts["web1"]["ram"] == {"bytes": 2 * GiB, "source": "report"}
    (folder / "db1/facts.json").write_text("{")
    data = as_json(oomaudit, folder)
    assert data["hosts"][-1]["ram"] is None or data["hosts"][-1]["name"] != "db1"
    assert any(n.startswith("db1/facts.json: not JSON") and "read without it" in n
               for n in data["notices"])


def test_real_facts_of_this_machine_give_the_ram(oomaudit, tmp_path):
    """`oomaudit facts` as it runs on a host, beside a report of a tree scanned without RAM:
    the fleet judges the tree's worst case against the RAM measured here."""
    folder = tmp_path / "fleet"
    (folder / "db1").mkdir(parents=True)
    proc = oomaudit("scan", "--root", REPO / "tests/mysql/fixtures/tree", "--format", "json",
                    "-o", folder / "db1/report.json")
    assert proc.returncode in (0, 1), proc.stderr
    proc = oomaudit("facts", "-o", folder / "db1/facts.json")
    assert proc.returncode == 0, proc.stderr
    measured = json.loads((folder / "db1/facts.json").read_text())["ram"]["value"]
    [host] = as_json(oomaudit, folder)["hosts"]
    assert host["ram"] == {"bytes": measured, "source": "facts"}
    assert host["worst_case_ratio"] == pytest.approx(host["worst_case"] / measured)
    assert "RAM from facts" in fleet(oomaudit, folder).stdout


HOSTILE = {
    "truncated": None,  # filled from a real report, cut in half
    "empty": "",
    "corrupt": "{\"tool\": {\"name\": \"oomaudit\"}, \"hosts\": [,]}",
    "list": "[1, 2, 3]",
    "foreign": json.dumps({"tool": {"name": "trivy"}, "Results": []}),
    "logs": json.dumps({"schema_version": 1, "tool": {"name": "oomaudit"}, "summary": {}}),
    "future": json.dumps({"schema_version": 99, "tool": {"name": "oomaudit"}, "hosts": [],
                          "command": "scan"}),
    "deep": "[" * 200_000 + "]" * 200_000,
    "latin1": b"{\"tool\": \"\xe9\"}",
    "bigint": "{\"tool\": {\"name\": \"oomaudit\"}, \"schema_version\": " + "9" * 5000 + "}",
    "nan": None,  # a real report with NaN RAM
    "badhost": None,  # a finding on a host the report does not list
    "badseverity": None,
}


def hostile_files(folder: Path, report: dict) -> None:
    text = json.dumps(report)
    files = dict(HOSTILE, truncated=text[:len(text) // 2])
    nan = copy.deepcopy(report)
    nan["hosts"][0]["facts"]["ram"]["value"] = float("nan")
    files["nan"] = json.dumps(nan)
    bad = copy.deepcopy(report)
    bad["findings"][0]["host"] = "elsewhere"
    files["badhost"] = json.dumps(bad)
    bad = copy.deepcopy(report)
    bad["findings"][0]["severity"] = ["high"]
    files["badseverity"] = json.dumps(bad)
    for name, content in files.items():
        (folder / name).mkdir(parents=True)
        path = folder / name / "report.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "huge").mkdir()
    with open(folder / "huge/report.json", "wb") as fh:
        fh.truncate(fleetfiles.MAX_BYTES + 1)  # sparse: costs no disk
    (folder / "fifo").mkdir()
    os.mkfifo(folder / "fifo/report.json")  # opening it for reading would block forever


def test_hostile_files_are_notices_and_the_rest_goes_on(oomaudit, tmp_path, reports):
    folder = lay_out(tmp_path / "fleet", {"db1": reports["db1"]})
    hostile_files(folder, reports["db1"])
    proc = fleet(oomaudit, folder, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    assert [h["name"] for h in data["hosts"]] == ["db1"]
    notices = {n.split("/", 1)[0]: n for n in data["notices"]}
    assert set(notices) == set(HOSTILE) | {"huge", "fifo"}, data["notices"]
    assert all(n.endswith("; skipped") for n in notices.values())
    assert "not JSON" in notices["truncated"] and "not JSON" in notices["corrupt"]
    assert "empty" in notices["empty"] and "nested too deep" in notices["deep"]
    assert "larger than the 64.0 MiB" in notices["huge"]
    assert "not a regular file" in notices["fifo"]
    assert "not UTF-8" in notices["latin1"] and "integer too long" in notices["bigint"]
    assert "not an oomaudit report" in notices["foreign"] and "not an oomaudit report" in \
        notices["list"]
    assert "not a scan or check report" in notices["logs"]
    assert "schema_version 99" in notices["future"]
    assert "facts.ram is not a size" in notices["nan"]
    assert "findings[0].host names no entry" in notices["badhost"]
    assert "findings[0].severity" in notices["badseverity"]
    assert data["summary"]["skipped"] == len(notices)


def test_nothing_readable_is_an_error(oomaudit, tmp_path):
    (tmp_path / "fleet/db1").mkdir(parents=True)
    (tmp_path / "fleet/db1/report.json").write_text("{")
    proc = fleet(oomaudit, tmp_path / "fleet")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "oomaudit: notice: db1/report.json: not JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2; truncated?); skipped",
        f"oomaudit: error: {tmp_path / 'fleet'}: no oomaudit report read (expected "
        "HOST/report.json or HOST.json; see 'oomaudit fleet --help')"]
    for missing, why in ((tmp_path / "nope", "no such directory"),
                         (tmp_path / "fleet/db1/report.json", "not a directory")):
        proc = fleet(oomaudit, missing)
        assert proc.returncode == 2 and proc.stderr == f"oomaudit: error: {missing}: {why}\n"


def test_control_characters_never_reach_the_terminal(oomaudit, tmp_path, reports):
    report = copy.deepcopy(reports["db1"])
    report["hosts"][0]["ledger"][0]["service"] = "my\x1b]0;pwned\x07sql\u202e"
    folder = tmp_path / "fleet"
    evil = "\x1b[2Jdb1\nrm -rf"
    (folder / evil).mkdir(parents=True)
    (folder / evil / "report.json").write_text(json.dumps(report))
    (folder / "bad\x9bname.json").write_text("nope")
    proc = fleet(oomaudit, folder)
    assert proc.returncode == 1
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert char not in proc.stdout
    assert "\\x1b[2Jdb1\\nrm -rf" in proc.stdout and "my\\x1b]0;pwned\\x07sql" in proc.stdout
    assert "bad\\x9bname.json: not JSON" in proc.stdout
    data = as_json(oomaudit, folder)
    assert data["hosts"][0]["name"] == "\\x1b[2Jdb1\\nrm -rf"


def test_undecodable_names_are_shown_as_ls_shows_them(oomaudit, tmp_path, reports):
    folder = tmp_path / "fleet"
    name = os.fsencode(folder) + b"/db\xff1"
    os.makedirs(name)
    with open(name + b"/report.json", "w") as fh:
        json.dump(reports["db1"], fh)
    data = as_json(oomaudit, folder)
    assert data["hosts"][0]["name"] == "db\ufffd1"


def test_json_is_strict_utf8_with_names_as_themselves(oomaudit, tmp_path, reports):
    """As every JSON oomaudit writes (oomaudit/jsonout.py): non-ASCII text as itself."""
    proc = fleet(oomaudit, lay_out(tmp_path / "fleet", {"café-1": reports["db1"]}),
                 "--format", "json")
    assert '"name": "café-1"' in proc.stdout and "\\u00e9" not in proc.stdout
    assert json.loads(proc.stdout)["hosts"][0]["name"] == "café-1"


def test_several_hosts_of_one_report_are_rows_of_their_own(oomaudit, tmp_path, reports):
    """A `check` report of a repository with [[hosts]] profiles: HOST/NAME per profile."""
    two = copy.deepcopy(reports["db1"])
    second = copy.deepcopy(two["hosts"][0])
    second["name"] = "replica"
    second["ledger"] = []
    two["hosts"].append(second)
    data = as_json(oomaudit, lay_out(tmp_path / "fleet", {"repo": two}))
    assert [h["name"] for h in data["hosts"]] == ["repo/tree", "repo/replica"]
    assert data["hosts"][1]["findings"]["high"] == 0


def test_a_host_read_twice_is_named_once(oomaudit, tmp_path, reports):
    folder = lay_out(tmp_path / "fleet", {"db1": reports["db1"]})
    (folder / "db1.json").write_text(json.dumps(reports["web1"]))
    data = as_json(oomaudit, folder)
    assert [h["name"] for h in data["hosts"]] == ["db1"]
    assert data["notices"] == ["db1.json: a second report of host 'db1'; skipped"]


def _risk(name, ram=None, worst=0, counts=(0, 0, 0, 0, 0), kills=0):
    return fleet_mod.HostRisk(name, f"{name}.json", None, None, ram,
                              "report" if ram else "", None, worst, None, counts, kills, (), 0)


def test_ranking_order():
    """Kills logged first, then over RAM (or critical), the farther over the sooner, then
    findings, then the least headroom; ties by name."""
    merged = fleet_mod.Fleet("x")
    for host in (_risk("a-clean", 8 * GiB, 1 * GiB),
                 _risk("b-high", 8 * GiB, 2 * GiB, (0, 0, 0, 3, 0)),
                 _risk("c-over", 8 * GiB, 9 * GiB),
                 _risk("d-way-over", 8 * GiB, 30 * GiB),
                 _risk("e-killed", 64 * GiB, 1 * GiB, kills=1),
                 _risk("f-critical", 8 * GiB, 1 * GiB, (0, 0, 0, 0, 1)),
                 _risk("g-unknown-ram", None, 99 * GiB, (0, 1, 0, 0, 0)),
                 _risk("0-clean-too", 8 * GiB, 1 * GiB)):
        merged.add(host, {})
    merged.rank()
    assert [h.name for h in merged.hosts] == [
        "e-killed", "d-way-over", "c-over", "f-critical", "b-high", "g-unknown-ram",
        "0-clean-too", "a-clean"]


# arbitrary JSON in place of parts of a real report: read, or one notice; never a crash
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
PLACES = [("schema_version",), ("tool",), ("command",), ("hosts",), ("hosts", 0),
          ("hosts", 0, "name"), ("hosts", 0, "facts"), ("hosts", 0, "facts", "ram"),
          ("hosts", 0, "ledger"),
          ("hosts", 0, "ledger", 0), ("hosts", 0, "ledger", 0, "bytes"),
          ("hosts", 0, "ledger", 0, "service"), ("findings",), ("findings", 0),
          ("findings", 0, "rule"), ("findings", 0, "host"), ("findings", 0, "severity"),
          ("findings", 0, "message"), ("errors",), ("generated_at",)]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(PLACES), value=JSON)
@example(place=("hosts", 0, "ledger", 0, "bytes"), value=-1)  # found: a negative worst case
def test_any_value_anywhere_is_read_or_a_notice(tmp_path, reports, place, value):
    report = copy.deepcopy(reports["db1"])
    target = report
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    folder = tmp_path / "h"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "db1").mkdir(parents=True)
    (folder / "db1/report.json").write_text(json.dumps(report))
    (folder / "web1.json").write_text(json.dumps(reports["web1"]))
    merged = fleet_mod.collect(str(folder))
    assert "web1" in [h.name for h in merged.hosts]
    assert len(merged.hosts) + merged.skipped == 2
    assert all(n.startswith("db1/report.json: ") for n in merged.notices)
    shown = fleetview.render_text(merged, Severity.LOW, False, 0)
    assert not any(ord(c) < 32 and c != "\n" for c in shown)
    jsonschema.validate(fleetview.as_dict(merged, Severity.LOW, False), SCHEMA)


def test_prometheus_output_is_every_hosts_metrics_and_the_fleets(oomaudit, tmp_path, reports):
    """The same families a host's own ``scan --format prometheus`` writes (so the alert rules
    apply), labelled with the fleet's host names, plus the ranking; read back by
    prometheus_client's parser and accepted by promtool."""
    from prometheus_client.parser import text_string_to_metric_families

    folder = lay_out(tmp_path / "fleet", reports)
    (folder / "broken.json").write_text("{")
    evil = copy.deepcopy(reports["web2"])
    evil["hosts"][0]["ledger"][0]["service"] = 'php"fpm\n\x1b'
    lay_out(folder, {'we"b\\3': evil})
    out = tmp_path / "fleet.prom"
    proc = fleet(oomaudit, folder, "--format", "prometheus", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    text = out.read_text()
    assert "\x1b" not in text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    rank = {dict(k)["host"]: v for k, v in samples["oomaudit_fleet_host_rank"].items()}
    assert rank == {"killed": 1, "web1": 2, "db1": 3, 'we"b\\3': 4, "web2": 5}  # ties by name
    assert samples["oomaudit_ram_bytes"][(("host", "db1"),)] == 4 * GiB
    assert samples["oomaudit_oom_kills"][(("host", "killed"), ("process", "mysqld"))] == 2
    assert samples["oomaudit_findings"][(("host", "db1"), ("rule", "MYSQL001"),
                                         ("severity", "high"))] == 1
    assert samples["oomaudit_fleet_rule_hosts"][(("rule", "HOST002"),)] == 2
    assert samples["oomaudit_fleet_hosts"][()] == 5
    assert samples["oomaudit_fleet_files_skipped"][()] == 1
    services = {dict(k)["service"] for k in samples["oomaudit_ledger_worst_case_bytes"]}
    assert 'php"fpm\\n\\x1b' in services  # control characters as visible text
    promtool = need_program("promtool", "the Prometheus package's linter for exposition text")
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_scan_does_not_import_the_fleet(tmp_path):
    (tmp_path / "fstab").write_text("UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n")
    probe = ("import sys\nfrom oomaudit.cli import main\nmain(sys.argv[1:])\n"
             "print(sorted(m for m in sys.modules if 'fleet' in m), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe, "check", "--exit-zero", "fstab"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_a_hosts_fleet_metrics_are_those_of_its_own_scan(oomaudit, tmp_path, reports):
    """Every host family of ``fleet --format prometheus`` holds, for a host, exactly the
    samples its own report gives (``reporters.prometheus.families``, what the host's scan
    writes), two ledger entries of one service summed into one series on both sides."""
    from prometheus_client.parser import text_string_to_metric_families

    from oomaudit.reporters import prometheus

    report = copy.deepcopy(reports["web1"])
    pool = report["hosts"][0]["ledger"][0]
    report["hosts"][0]["ledger"].append({**pool, "bytes": 123, "source": "pool.d/b.conf:1"})
    out = tmp_path / "fleet.prom"
    proc = fleet(oomaudit, lay_out(tmp_path / "fleet", {"web1": report}), "--format",
                 "prometheus", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    fleet_samples = {(s.name, tuple(sorted(s.labels.items())), s.value)
                     for f in text_string_to_metric_families(out.read_text())
                     for s in f.samples if not s.name.startswith("oomaudit_fleet_")}
    own = {(f.name, tuple(sorted({**labels, "host": "web1"}.items())), float(value))
           for f in prometheus.families(report) for labels, value in f.samples}  # its folder
    assert fleet_samples == own
    series = [v for name, labels, v in own if name == "oomaudit_ledger_worst_case_bytes"
              and dict(labels)["service"] == pool["service"]]
    assert series == [pool["bytes"] + 123]
