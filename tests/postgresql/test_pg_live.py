"""Live hosts: running postmasters name the config they read (-D, config_file=, -c
overrides) and their RSS goes into the evidence. First with a made-up process table, then
with a real server started (and stopped) by the test."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_program
from oomaudit.plugins.postgresql import budget, clusters, postmasters, rules

from oomaudit.host import LIVE, Fact, Host
from oomaudit.processes import Proc

MIB = 1 << 20


def test_command_line_options():
    argv = ("/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main",
            "-c", "config_file=/etc/postgresql/15/main/postgresql.conf", "-B", "4096",
            "--work-mem=8MB", "-cmax_connections=50")
    config_file, data_dir, overrides = postmasters._options(argv)
    assert config_file == "/etc/postgresql/15/main/postgresql.conf"
    assert data_dir == "/var/lib/postgresql/15/main"
    assert overrides == (("shared_buffers", "4096"), ("work_mem", "8MB"),
                         ("max_connections", "50"))
    assert postmasters._options(("postmaster", "-D/srv/pg"))[0] == "/srv/pg/postgresql.conf"


def _proc(pid, cmdline, rss):
    return Proc(pid, "postgres", tuple(cmdline), rss, "/system.slice/postgresql@15-main.service",
                0, 0, 105)


def test_running_postmaster_is_read_with_its_overrides(tmp_path):
    conf = tmp_path / "postgresql.conf"
    conf.write_text("cluster_name = '15/main'\nshared_buffers = 1GB\nmax_connections = 100\n")
    host = Host("live", LIVE, Path("/"))
    host.facts["ram"] = Fact(2 << 30, "declared: --ram")
    host.cache["processes"] = [
        _proc(10, ["/usr/lib/postgresql/15/bin/postgres", "-D", str(tmp_path),
                   "-c", "max_connections=400"], 30 * MIB),
        _proc(11, ["postgres: 15/main: checkpointer "], 100 * MIB),
        _proc(12, ["postgres: 15/main: walwriter "], 20 * MIB),
        _proc(13, ["/usr/bin/python3", "postgres.py"], 500 * MIB),
    ]
    postmasters.collect(host)
    budget.add_to_ledger(host)
    [cluster] = clusters.clusters(host)
    assert cluster.config.value("max_connections") == 400  # -c beats the file
    assert cluster.config.origin("max_connections") == "command line"
    [finding] = list(rules.check_pg002(host))
    evidence = [str(e) for e in finding.evidence]
    assert any("postmaster PID 10 RSS 30.0 MiB" in e for e in evidence), evidence
    assert any("3 server processes, RSS together 150.0 MiB" in e for e in evidence), evidence
    assert host.ledger.consumers[0].service == "postgresql 15/main"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else need_program(name, "a real PostgreSQL for the live test")


@pytest.fixture
def running_server():
    """initdb and start a throwaway cluster as the postgres user: no TCP, socket in the
    temporary directory; stopped again whatever happens."""
    prefix = []
    if os.geteuid() == 0:
        prefix = [need_program("runuser", "run postgres as its user"), "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="oomaudit-pglive-"))
    base.chmod(0o777)
    data = base / "data"
    run = subprocess.run
    run([*prefix, _bin("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
        check=True, capture_output=True, timeout=120)
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(f"listen_addresses = ''\nunix_socket_directories = '{base}'\n"
                 "cluster_name = 'oomaudit_test'\nshared_buffers = 16MB\n"
                 "max_connections = 20\nwork_mem = 256MB\n")
    pg_ctl = _bin("pg_ctl")
    run([*prefix, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "start"],
        check=True, capture_output=True, timeout=60)
    try:
        yield data
    finally:
        run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=60)
        run(["rm", "-rf", str(base)])


def test_live_scan_reports_the_running_cluster(oomaudit, running_server):
    for _ in range(50):  # the checkpointer & co. retitle themselves just after start
        titles = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        if "postgres: oomaudit_test:" in titles:
            break
        time.sleep(0.1)
    proc = oomaudit("scan", "--select", "PG", "--ram", "1G", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    mine = [f for f in report["findings"] if str(running_server) in (f["path"] or "")]
    assert [f["rule"] for f in mine] == ["PG002"], report["findings"]
    evidence = " ".join(e["what"] for e in mine[0]["evidence"])
    assert "postmaster PID" in evidence and "RSS" in evidence
    assert "server processes, RSS together" in evidence


def test_config_file_elsewhere_reads_auto_conf_from_minus_d(tmp_path):
    """``postgres -D DATA -c config_file=ETC/postgresql.conf`` without data_directory in the
    file: ALTER SYSTEM's postgresql.auto.conf is read from DATA, not from ETC."""
    etc, data = tmp_path / "etc", tmp_path / "data"
    etc.mkdir()
    data.mkdir()
    (etc / "postgresql.conf").write_text("shared_buffers = 128MB\n")
    (etc / "postgresql.auto.conf").write_text("shared_buffers = '3GB'\n")  # not read
    (data / "postgresql.auto.conf").write_text("shared_buffers = '1GB'\n")
    host = Host("live", LIVE, Path("/"))
    host.cache["processes"] = [_proc(10, ["postgres", "-D", str(data), "-c",
                                          f"config_file={etc}/postgresql.conf"], MIB)]
    postmasters.collect(host)
    [cluster] = clusters.clusters(host)
    assert cluster.config.bytes("shared_buffers") == 1 << 30
    assert cluster.config.origin("shared_buffers").endswith("data/postgresql.auto.conf:1")
