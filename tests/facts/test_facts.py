"""``oomaudit facts`` (validated against facts.schema.json) and auditing a repository
against them: ``check --facts FILE`` and ``[[hosts]] facts = "..."``."""
from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path

import jsonschema
import psutil
import pytest
from conftest import assert_no_traceback
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.errors import UsageError
from oomaudit.facts import load

SCHEMA = json.loads(resources.files("oomaudit").joinpath("facts.schema.json").read_text())
GIB = 1 << 30


def measured(oomaudit, *args) -> dict:
    proc = oomaudit("facts", *args)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    return data


def with_ram(data: dict, ram: int) -> dict:
    data = json.loads(json.dumps(data))
    data["ram"]["value"] = ram
    jsonschema.validate(data, SCHEMA)
    return data


def findings(proc) -> list[dict]:
    assert_no_traceback(proc)
    return json.loads(proc.stdout)["findings"]


# -- what a live host and a tree tell ----------------------------------------------------
def test_live_facts_are_what_this_host_measures(oomaudit):
    data = measured(oomaudit)
    assert data["mode"] == "live" and data["host"] == os.uname().nodename
    assert data["measured_at"].endswith("Z")
    assert data["ram"]["value"] <= psutil.virtual_memory().total  # or the cgroup's limit
    assert data["swap"]["value"] == psutil.swap_memory().total
    assert data["cpus"]["value"] == os.cpu_count()
    assert data["kernel"] == {"value": os.uname().release, "source": "live: uname -r"}
    for name, fact in data["sysctl"].items():
        live = Path("/proc/sys", name.replace(".", "/")).read_text().split()[0]
        assert fact == {"value": int(live), "source": f"live: /proc/sys/{name.replace('.', '/')}"}
    assert set(data["sysctl"]) >= {"vm.overcommit_memory", "vm.panic_on_oom"}


def test_a_tree_tells_its_persisted_sysctl_and_its_kills(oomaudit, tmp_path):
    root = tmp_path / "root"
    (root / "etc/sysctl.d").mkdir(parents=True)
    (root / "etc/sysctl.d/90-oom.conf").write_text("vm.overcommit_memory = 2\n")
    (root / "var/log").mkdir(parents=True)
    when = __import__("datetime").datetime.now().strftime("%b %d %H:%M:%S")
    (root / "var/log/kern.log").write_text("".join(
        f"{when} db1 kernel: Out of memory: Killed process {pid} (mysqld) total-vm:1kB, "
        "anon-rss:1kB, file-rss:0kB\n" for pid in (7, 8)))
    data = measured(oomaudit, "--root", root)
    assert (data["mode"], data["host"], data["ram"], data["services"]) == (
        "root", "root", None, [])
    assert data["sysctl"]["vm.overcommit_memory"]["value"] == 2
    assert "etc/sysctl.d/90-oom.conf" in data["sysctl"]["vm.overcommit_memory"]["source"]
    assert data["oom_kills"]["count"] == 2
    assert data["oom_kills"]["by_process"][0]["process"] == "mysqld"


def test_facts_written_with_output_and_a_missing_root_is_a_usage_error(oomaudit, tmp_path):
    proc = oomaudit("facts", "-o", "facts.json")
    assert proc.returncode == 0 and proc.stdout == ""
    jsonschema.validate(json.loads((tmp_path / "facts.json").read_text()), SCHEMA)
    proc = oomaudit("facts", "--root", "nope")
    assert proc.returncode == 2 and proc.stderr == "oomaudit: error: --root nope: not a directory\n"


# -- the done-when case: MYSQL001 against the facts' RAM ---------------------------------
def test_check_judges_mysql001_against_the_ram_in_the_facts_file(oomaudit, tmp_path):
    live = measured(oomaudit)
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    (tmp_path / "small.json").write_text(json.dumps(with_ram(live, 4 * GIB)))
    (tmp_path / "big.json").write_text(json.dumps(with_ram(live, 64 * GIB)))
    small = oomaudit("check", "my.cnf", "--facts", "small.json", "--format", "json")
    assert small.returncode == 1
    [mysql] = [f for f in findings(small) if f["rule"] == "MYSQL001"]
    assert "of RAM 4.0 GiB" in mysql["message"]
    ram = [e for e in mysql["evidence"] if e["source"].startswith("facts small.json")]
    assert ram and ram[0]["source"] == (f"facts small.json (measured on {live['host']} at "
                                        f"{live['measured_at']})")
    report = json.loads(small.stdout)
    assert report["hosts"][0]["facts"]["ram"]["value"] == 4 * GIB
    big = oomaudit("check", "my.cnf", "--facts", "big.json", "--format", "json")
    assert big.returncode == 0 and findings(big) == []
    declared = oomaudit("check", "my.cnf", "--facts", "big.json", "--ram", "4G",
                        "--format", "json")  # --ram wins over the facts
    assert "MYSQL001" in [f["rule"] for f in findings(declared)]
    assert json.loads(declared.stdout)["hosts"][0]["facts"]["ram"]["source"] == "declared: --ram"


def test_a_host_profile_names_its_facts_relative_to_the_config(oomaudit, tmp_path):
    live = measured(oomaudit)
    repo = tmp_path / "repo"
    (repo / "hosts/db1").mkdir(parents=True)
    (repo / "facts").mkdir()
    (repo / "hosts/db1/my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    (repo / "facts/db1.json").write_text(json.dumps(with_ram(live, 4 * GIB)))
    (repo / ".oomaudit.toml").write_text(
        '[[hosts]]\npaths = ["hosts/db1/**"]\nram = "64G"\nfacts = "facts/db1.json"\n')
    proc = oomaudit("check", ".", "--format", "json", cwd=repo)
    assert "MYSQL001" in [f["rule"] for f in findings(proc)]  # the facts' RAM, not 64G
    facts = json.loads(proc.stdout)["hosts"][0]["facts"]
    assert facts["ram"]["value"] == 4 * GIB and facts["ram"]["source"].startswith("facts ")
    elsewhere = oomaudit("check", repo / "hosts", "--format", "json", cwd=tmp_path)
    assert "MYSQL001" in [f["rule"] for f in findings(elsewhere)]
    # a facts file that is none is the repository's content, not a usage error: a CONF003
    # of its host, judged with the table's values (64G: no MYSQL001), the run going on
    (repo / "facts/db1.json").write_text("{}")
    broken = oomaudit("check", ".", "--format", "json", cwd=repo)
    (conf,) = [f for f in findings(broken) if f["rule"] == "CONF003"]
    assert conf["path"] == "facts/db1.json" and "not an oomaudit facts file" in conf["message"]
    assert ".oomaudit.toml:1" in conf["message"]
    assert "MYSQL001" not in [f["rule"] for f in findings(broken)]
    (repo / ".oomaudit.toml").write_text('[[hosts]]\npaths = ["hosts/db1/**"]\nfacts = 3\n')
    bad = oomaudit("check", ".", cwd=repo)
    assert bad.returncode == 2 and "'facts' must be the file" in bad.stderr


def test_nginx_auto_counts_the_cpus_of_the_facts(oomaudit, tmp_path):
    live = measured(oomaudit)
    live["cpus"]["value"] = 6
    jsonschema.validate(live, SCHEMA)
    (tmp_path / "f.json").write_text(json.dumps(live))
    (tmp_path / "nginx.conf").write_text("worker_processes auto;\nevents {}\nhttp {}\n")
    proc = oomaudit("check", "nginx.conf", "--facts", "f.json", "--format", "json",
                    "--exit-zero")
    [nginx] = json.loads(proc.stdout)["hosts"][0]["ledger"]
    assert "worker_processes auto = 6 CPUs" in nginx["how"] and "facts f.json" in nginx["how"]


# -- measured processes, end to end with a real php-fpm ----------------------------------
def test_a_pool_measured_live_sizes_the_repository_pool(oomaudit, tmp_path, running_pool):
    _config, pids = running_pool
    data = measured(oomaudit)
    [pool] = [s for s in data["services"] if (s["service"], s["group"]) == ("php-fpm", "oomtest")]
    assert pool["processes"] == 2 and pool["per_process"] > 0
    assert pool["how"].startswith("measured average") and pool["how"].endswith("of 2 workers")
    rss = [psutil.Process(pid).memory_info().rss for pid in pids]
    assert abs(pool["largest"] - max(rss)) < 8 << 20  # the same processes, moments apart
    (tmp_path / "facts.json").write_text(json.dumps(with_ram(data, 64 << 20)))
    (tmp_path / "www.conf").write_text(
        "[oomtest]\nlisten = /run/x.sock\npm = static\npm.max_children = 40\n"
        "php_admin_value[memory_limit] = 4G\npm.max_requests = 100\n")
    proc = oomaudit("check", "www.conf", "--facts", "facts.json", "--format", "json")
    [fpm] = [f for f in findings(proc) if f["rule"] == "FPM001"]
    assert "measured per-child size (facts file)" in fpm["message"]
    child = [e for e in fpm["evidence"] if e["what"].startswith("php-fpm child = ")]
    assert child and child[0]["source"].startswith("facts facts.json (measured on ")
    assert child[0]["source"].endswith(": php-fpm oomtest, " + pool["how"])
    assert not any("memory_limit" in e["what"] for e in fpm["evidence"])


# -- a file that is no facts file ----------------------------------------------------------
@pytest.mark.parametrize("content, said", [
    ("not json", "not JSON"),
    ("[]", "no tool.name 'oomaudit'"),
    ('{"tool": {"name": "oomaudit"}, "schema_version": 2}', "schema_version 2"),
    ('{"tool": {"name": "oomaudit"}, "schema_version": 1, "host": "h", "measured_at": "x"}',
     "no RFC 3339 time"),
    ('{"tool": {"name": "oomaudit"}, "schema_version": 1, "host": "h", '
     '"measured_at": "2026-01-01T00:00:00Z", "ram": {"value": -1}}', "ram.value"),
    ('{"tool": {"name": "oomaudit"}, "schema_version": 1, "host": "h", '
     '"measured_at": "2026-01-01T00:00:00Z", "services": [{"service": "x"}]}', "services[0]"),
])
def test_a_bad_facts_file_is_a_usage_error_naming_it(oomaudit, tmp_path, content, said):
    (tmp_path / "my.cnf").write_text("[mysqld]\n")
    (tmp_path / "f.json").write_text(content)
    proc = oomaudit("check", "my.cnf", "--facts", "f.json")
    assert_no_traceback(proc)
    assert proc.returncode == 2 and proc.stderr.startswith("oomaudit: error: --facts f.json: ")
    assert said in proc.stderr and proc.stderr.count("\n") == 1


def test_facts_usage_errors(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\n")
    missing = oomaudit("check", "my.cnf", "--facts", "nope.json")
    assert missing.returncode == 2 and "--facts nope.json: no such file" in missing.stderr
    live = oomaudit("scan", "--facts", "nope.json")
    assert live.returncode == 2 and "a live scan measures this host itself" in live.stderr


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["ram", "swap", "cpus", "value", "host",
                                                      "services", "service", "group", "rss",
                                                      "processes", "largest", "per_process",
                                                      "how", "x"]), inner, max_size=4),
                    max_leaves=15))
def test_any_json_loads_or_is_one_usage_error(body):
    data = {"tool": {"name": "oomaudit"}, "schema_version": 1, "host": "h",
            "measured_at": "2026-01-01T00:00:00Z"}
    if isinstance(body, dict):
        data.update(body)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "f.json")
        path.write_text(json.dumps(data))
        try:
            loaded = load(path, "--facts")
        except UsageError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("--facts ")
            return
        assert all(f.value >= 0 for f in loaded.facts.values())


def test_fleet_reads_the_facts_beside_a_report(oomaudit, tmp_path):
    """``oomaudit fleet`` is the other reader of facts files: a tree's report knows no RAM,
    the facts fetched beside it do."""
    (tmp_path / "root/etc/mysql").mkdir(parents=True)
    (tmp_path / "root/etc/mysql/my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    (tmp_path / "out/db1").mkdir(parents=True)
    oomaudit("scan", "--root", "root", "--format", "json", "-o", "out/db1/report.json",
             "--exit-zero")
    (tmp_path / "out/db1/facts.json").write_text(json.dumps(with_ram(measured(oomaudit),
                                                                     4 * GIB)))
    proc = oomaudit("fleet", "out", "--format", "json")
    assert_no_traceback(proc)
    [host] = json.loads(proc.stdout)["hosts"]
    assert host["ram"] == {"bytes": 4 * GIB, "source": "facts"}
    assert host["facts"] == "db1/facts.json" and host["worst_case_ratio"] > 1
