"""MYSQL001-MYSQL003 end to end: annotated fixtures through the real CLI, the issue's
"Done when" points, the web tier, the ledger, live servers, and real-world configs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_shared
from oomaudit.plugins.mysql import optionfiles, rules
from oomaudit.plugins.mysql import servers as mysql_servers

from oomaudit import Reader, hookimpl
from oomaudit.config import Settings
from oomaudit.discovery import file_hosts
from oomaudit.engine import Registry, audit
from oomaudit.host import LIVE, Fact, Host
from oomaudit.manager import load_plugins
from oomaudit.processes import Proc

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ANNOTATION = re.compile(r"#\s*(expect|ok):\s*(MYSQL\d{3})(?:\s+(info|low|medium|high|critical))?")


def _json(proc) -> dict:
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _annotations(folder: Path):
    for path in sorted(folder.rglob("*.cnf")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for m in ANNOTATION.finditer(line):
                yield path, number, m.group(1), m.group(2), m.group(3)


@pytest.fixture(scope="module")
def fixtures_report() -> dict:
    """One CLI run over every fixture folder (each top-level file is its own server)."""
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", ".", "--ram", "8G",
                           "--format", "json", "--select", "MYSQL"], cwd=FIXTURES,
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    return _json(proc)


@pytest.mark.parametrize("case", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_annotated_fixtures(fixtures_report, case):
    folder = FIXTURES / case
    found = {(Path(FIXTURES, f["path"]).resolve(), f["line"], f["rule"]): f["severity"]
             for f in fixtures_report["findings"]
             if folder in Path(FIXTURES, f["path"]).resolve().parents}
    expected = set()
    for path, line, kind, rule, severity in _annotations(folder):
        key = (path.resolve(), line, rule)
        if kind == "expect":
            expected.add(key)
            assert key in found, (key, found)
            assert severity is None or found[key] == severity, (key, found[key])
        else:
            assert key not in found, (key, found)
    assert set(found) == expected, "every MYSQL finding is annotated in the fixture"


def test_buffer_pool_above_70_percent_is_high_at_file_and_line(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\n# a comment\ninnodb_buffer_pool_size = 6G\n")
    proc = oomaudit("check", "my.cnf", "--ram", "8G")
    assert proc.returncode == 1
    assert re.search(r"^my\.cnf:3: MYSQL001 high .*75% of RAM 8\.0 GiB", proc.stdout, re.M)
    assert "fix: innodb_buffer_pool_size = 5632M" in proc.stdout


# -- the web tier ----------------------------------------------------------------------------

def _stub_web_plugin(name: str = "nginx"):
    module = types.ModuleType(f"{name}_stub")

    @hookimpl
    def oomaudit_readers():
        return [Reader(name=name, parse=lambda source: source, file_patterns=("nginx.conf",))]
    module.oomaudit_readers = oomaudit_readers
    return module


def _audit(paths: list[Path], ram: int, extra=()) -> list:
    registry = Registry.build(load_plugins(disable_third_party=True, extra=extra))
    settings = Settings()
    hosts = file_hosts([str(p) for p in paths], registry.readers, settings,
                       {"ram": Fact(ram, "declared: --ram")}, [])
    return [f for _, f in audit(registry, hosts, settings, "check", "t").findings]


def test_web_tier_lowers_the_limit_to_half_of_ram(tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 4500M\n")
    (tmp_path / "nginx.conf").write_text("worker_processes auto;\n")
    alone = [f for f in _audit([tmp_path / "my.cnf"], 8 << 30) if f.rule == "MYSQL001"]
    assert alone == []  # 55% of RAM: fine for a dedicated database host
    beside = [f for f in _audit([tmp_path], 8 << 30, extra=(("nginx_stub",
                                                              _stub_web_plugin()),))
              if f.rule == "MYSQL001"]
    assert [(f.severity.label, f.line) for f in beside] == [("medium", 2)]
    assert any("web tier on this host: nginx configured" in e.what
               and e.source.endswith("nginx.conf") for e in beside[0].evidence)
    assert beside[0].fix.startswith("innodb_buffer_pool_size = 4G")


def test_web_tier_with_the_real_nginx_reader(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 4500M\n")
    (tmp_path / "nginx.conf").write_text(
        "worker_processes 2;\nevents { worker_connections 512; }\nhttp { }\n")
    report = _json(oomaudit("check", tmp_path, "--ram", "8G", "--format", "json"))
    pool = [f for f in report["findings"] if f["rule"] == "MYSQL001"]
    assert [f["severity"] for f in pool] == ["medium"]
    assert "web tier" in pool[0]["message"]


# -- values: the server's reasons, flavour by flavour -------------------------------------

def test_rejected_value_quotes_the_server(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\nkey_buffer_size = 1.5M\n")
    proc = oomaudit("check", "my.cnf")
    assert re.search(r"my\.cnf:2: MYSQL003 high MariaDB 10\.11 rejects key_buffer_size = 1\.5M, "
                     r"so mysqld does not start: Unknown suffix '\.' used for variable "
                     r"'key_buffer_size' \(value '1\.5M'\)", proc.stdout)
    assert "fix: key_buffer_size = 1536K" in proc.stdout


def test_fractional_sizes_are_fixed_in_the_next_unit_down(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2.25G\n"
                                     "sort_buffer_size = 0.3M\njoin_buffer_size = 3.0009K\n")
    proc = oomaudit("check", "--ram", "16G", "my.cnf")
    fixes = re.findall(r"fix: (\w+ = \d+[KMG]?)", proc.stdout)
    assert fixes == ["innodb_buffer_pool_size = 2304M", "sort_buffer_size = 307K",
                     "join_buffer_size = 3072"]


@pytest.mark.parametrize("group, flavour", [("mysqld", "MariaDB 10.11"),
                                            ("mysqld-8.0", "MySQL 8.0")])
def test_findings_follow_the_flavour_in_effect(oomaudit, tmp_path, group, flavour):
    (tmp_path / "my.cnf").write_text(f"[{group}]\ntmp_table_size = 4GB\nkey_buffer_size = -5\n")
    report = _json(oomaudit("check", "my.cnf", "--format", "json"))
    by_line = {f["line"]: f for f in report["findings"] if f["rule"] == "MYSQL003"}
    assert by_line[2]["severity"] == "info"
    assert by_line[2]["message"].startswith(f"{flavour} reads tmp_table_size = 4GB as "
                                            "4294967296 bytes")
    negative = by_line[3]["message"]
    if flavour.startswith("MariaDB"):  # MariaDB refuses a negative size...
        assert "does not start: Incorrect unsigned value: '-5' for key_buffer_size" in negative
    else:  # ...MySQL 8 takes its minimum, with a warning
        assert negative == ("MySQL 8.0 does not use key_buffer_size = -5: option "
                            "'key_buffer_size': value -5 adjusted to 0")
    assert any(e["what"] == f"server: {flavour}" for e in by_line[2]["evidence"])


# -- the ledger and MYSQL002's arithmetic -----------------------------------------------------

def test_worst_case_goes_into_the_ledger_as_mysqltuner_sums_it(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 1G\n"
                                     "max_connections = 100\ntmp_table_size = 64M\n")
    report = _json(oomaudit("budget", "my.cnf", "--ram", "8G", "--format", "json"))
    consumer = next(c for h in report["hosts"] for c in h["consumers"]
                    if c["service"] == "mysql")
    server = (128 << 20) + (16 << 20) + (1 << 30) + (16 << 20) + (1 << 20) + (128 << 20)
    thread = (128 << 10) + (256 << 10) + (2 << 20) + 299008 + (256 << 10) + (32 << 10)
    assert consumer["bytes"] == server + 100 * thread
    assert consumer["source"] == "my.cnf:3"


def test_worst_case_beyond_ram_and_swap_is_critical(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n"
                                     "max_connections = 3000\n")
    report = _json(oomaudit("check", "my.cnf", "--ram", "4G", "--swap", "1G", "--format",
                            "json"))
    worst = [f for f in report["findings"] if f["rule"] == "MYSQL002"]
    assert [(f["severity"], f["line"]) for f in worst] == [("critical", 3)]
    terms = [e["what"].split(" = ")[0] for e in worst[0]["evidence"]]
    for name in ("key_buffer_size", "innodb_buffer_pool_size", "per thread: sort_buffer_size",
                 "per thread: binlog_cache_size", "max_connections"):
        assert name in terms
    assert re.match(r"max_connections = \d+ ", worst[0]["fix"])


# -- hosts: --root and live servers --------------------------------------------------------

def test_root_scan_follows_includes_inside_the_tree(oomaudit):
    report = _json(oomaudit("scan", "--root", FIXTURES / "tree", "--ram", "8G", "--format",
                            "json", "--select", "MYSQL"))
    assert [(Path(f["path"]).name, f["line"]) for f in report["findings"]] == \
        [("50-server.cnf", 2)]


def test_live_server_uses_its_defaults_file_and_shows_its_rss(tmp_path):
    config = tmp_path / "custom.cnf"
    config.write_text("[mysqld]\ninnodb_buffer_pool_size = 7G\n")
    host = Host("live", LIVE, Path("/"))
    host.facts["ram"] = Fact(8 << 30, "declared: --ram")
    host.cache["processes"] = [Proc(
        4242, "mariadbd", ("/usr/sbin/mariadbd", f"--defaults-file={config}", "--user=mysql"),
        3 << 30, "/system.slice/mariadb.service", -600, 100, 107)]
    servers = mysql_servers.servers(host)
    assert [s.config.top for s in servers] == [[config]]
    assert servers[0].flavour.name == "MariaDB"
    finding, = rules.check_mysql001(host)
    assert any(e.what == "mariadbd pid 4242 resident now: 3.0 GiB" and e.source ==
               "live: /proc/4242" for e in finding.evidence)


def test_command_line_files():
    host = Host("live", LIVE, Path("/"))
    defaults = [Path("/etc/mysql/my.cnf")]
    assert optionfiles._command_line_files(["mysqld", "--no-defaults"], defaults, host) == []
    assert optionfiles._command_line_files(["mysqld", "--defaults-extra-file=/x.cnf", "--user=m"],
                                     defaults, host) == [defaults[0], Path("/x.cnf")]
    assert optionfiles._command_line_files(["mysqld", "--user=m", "--defaults-file=/y.cnf"],
                                     defaults, host) == defaults  # must come first


# -- real configs ------------------------------------------------------------------------------

def test_realworld_configs(oomaudit):
    folder = need_shared("realworld", "mysql")
    report = _json(oomaudit("check", folder, "--ram", "4G", "--format", "json"))
    assert not report["errors"]
    mine = [f for f in report["findings"] if f["rule"].startswith("MYSQL")]
    pools = {Path(f["path"]).name: f for f in mine if f["rule"] == "MYSQL001"}
    assert pools["FeministWiki__FeministWiki__etc__mysql__mariadb.conf.d__50-server.cnf"][
        "message"].startswith("innodb_buffer_pool_size 12.0 GiB is 300% of RAM")
    assert all(f["fix"] for f in mine)


def test_included_file_given_first_is_still_part_of_its_includer(oomaudit):
    tree = FIXTURES / "tree" / "etc" / "mysql"
    report = _json(oomaudit("check", tree / "conf.d" / "50-server.cnf", tree / "my.cnf",
                            "--ram", "8G", "--format", "json", "--select", "MYSQL"))
    budget = [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "mysql"]
    assert len(budget) == 1 and budget[0]["source"].endswith("60-tuning.cnf:2")
    assert [f["rule"] for f in report["findings"]] == ["MYSQL001"]


def test_mysql8_counts_temptable_ram_instead_of_tmp_table_size(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text("[mysqld-8.0]\ninnodb_buffer_pool_size = 4G\n"
                                     "temptable_max_ram = 2G\nmax_connections = 2000\n")
    report = _json(oomaudit("check", "my.cnf", "--ram", "8G", "--format", "json"))
    worst, = [f for f in report["findings"] if f["rule"] == "MYSQL002"]
    terms = {e["what"].split(" = ")[0]: e["source"] for e in worst["evidence"]}
    assert terms["temptable_max_ram"] == "my.cnf:3"
    assert terms["per thread: thread_stack"] == "default of MySQL 8.0"  # 1 MiB there
    assert not any(t.startswith(("min(", "query_cache", "aria")) for t in terms)


def test_repository_with_several_hosts_resolves_each_hosts_own_includes(oomaudit, tmp_path):
    for host, pool in (("db1", "6G"), ("db2", "1G")):
        conf = tmp_path / "hosts" / host / "etc" / "mysql"
        (conf / "conf.d").mkdir(parents=True)
        (conf / "my.cnf").write_text("[mysqld]\n!includedir /etc/mysql/conf.d/\n")
        (conf / "conf.d" / "pool.cnf").write_text(f"[mysqld]\ninnodb_buffer_pool_size={pool}\n")
    (tmp_path / "alone.cnf").write_text("[mysqld]\n!includedir /etc/mysql/conf.d/\n")
    report = _json(oomaudit("check", ".", "--ram", "8G", "--format", "json"))
    budget = sorted(c["bytes"] for h in report["hosts"] for c in h["ledger"])
    assert len(budget) == 3  # db1, db2, and alone.cnf (which must not read this machine's
    assert budget[2] - budget[1] == 5 << 30  # /etc/mysql: only the defaults, nothing more)
    assert [(f["rule"], f["path"]) for f in report["findings"] if f["rule"] == "MYSQL001"] == \
        [("MYSQL001", "hosts/db1/etc/mysql/conf.d/pool.cnf")]
