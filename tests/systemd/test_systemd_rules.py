"""SYSTEMD001-006 end to end through the CLI, plus the live-only checks on a fake snapshot."""
from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import assert_no_traceback, need_shared
from oomaudit.plugins.systemd import caps, oomscore
from oomaudit.plugins.systemd.constants import CACHE, READER
from oomaudit.plugins.systemd.units import parse_source

from oomaudit.config import Settings
from oomaudit.confine import CHROOT, Tree
from oomaudit.host import LIVE, ROOT, Host
from oomaudit.parsers.systemd_tree import from_tree
from oomaudit.processes import Proc

FIXTURES = Path(__file__).parent / "fixtures"
SSH = (FIXTURES / "fires" / "usr/lib/systemd/system/ssh.service").read_text()


def findings(oomaudit, *args) -> list[dict]:
    proc = oomaudit(*args, "--format", "json", "--ram", "8G")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"]
            if f["rule"].startswith(("SYSTEMD", "CONF001"))]


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_fires_fixture_fires_each_rule_where_marked(oomaudit):
    found = findings(oomaudit, "scan", "--root", FIXTURES / "fires")
    where = {(f["rule"], Path(f["path"]).name, f["line"]) for f in found}
    assert where == {
        ("SYSTEMD001", "ssh.service", None),
        ("SYSTEMD002", "oom.conf", 3),
        ("SYSTEMD003", "worker.service", 7),
        ("SYSTEMD005", "mariadb.service", None),
        ("SYSTEMD006", "worker.service", 9),
        ("CONF001", "worker.service", 11),
    }
    by_rule = {f["rule"]: f for f in found}
    assert "Failed to parse the OOM score adjust value '-500 # keep the worker alive'" in \
        by_rule["SYSTEMD003"]["evidence"][0]["what"]
    assert by_rule["SYSTEMD003"]["fix"].startswith("OOMScoreAdjust=-500")
    assert by_rule["SYSTEMD006"]["fix"] == "MemoryMax=1G"
    assert "ExecStart runs mariadbd" in by_rule["SYSTEMD005"]["evidence"][0]["what"]


def test_clean_fixture_fires_nothing(oomaudit):
    assert findings(oomaudit, "scan", "--root", FIXTURES / "clean") == []


def test_ssh_without_dropin_fires_and_the_dropin_clears_it(oomaudit, tmp_path):
    write(tmp_path, "usr/lib/systemd/system/ssh.service", SSH)
    [finding] = [f for f in findings(oomaudit, "scan", "--root", tmp_path)
                 if f["rule"] == "SYSTEMD001"]
    assert finding["path"].endswith("usr/lib/systemd/system/ssh.service")
    fix = finding["fix"]
    assert "cat > /etc/systemd/system/ssh.service.d/oom.conf <<'EOF'\n[Service]\n" \
           "OOMScoreAdjust=-900\nEOF" in fix
    assert "systemctl daemon-reload" in fix and "systemctl restart ssh.service" in fix
    write(tmp_path, "etc/systemd/system/ssh.service.d/oom.conf",
          "[Service]\nOOMScoreAdjust=-1000\n")
    assert not [f for f in findings(oomaudit, "scan", "--root", tmp_path)
                if f["rule"] == "SYSTEMD001"]


def test_no_ssh_unit_no_finding(oomaudit, tmp_path):
    write(tmp_path, "usr/lib/systemd/system/cron.service", "[Service]\nExecStart=/usr/sbin/cron\n")
    write(tmp_path, "etc/systemd/system/sshd.service.d/oom.conf", "[Service]\nOOMScoreAdjust=5\n")
    assert not [f for f in findings(oomaudit, "scan", "--root", tmp_path)
                if f["rule"] == "SYSTEMD001"]


def test_alias_symlink_carries_its_dropins(oomaudit, tmp_path):
    """Debian's `systemctl enable ssh` links sshd.service to ssh.service; a drop-in written
    for the alias name protects the unit."""
    write(tmp_path, "lib/systemd/system/ssh.service", SSH)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    os.symlink("/lib/systemd/system/ssh.service", tmp_path / "etc/systemd/system/sshd.service")
    write(tmp_path, "etc/systemd/system/sshd.service.d/oom.conf",
          "[Service]\nOOMScoreAdjust=-900\n")
    assert not [f for f in findings(oomaudit, "scan", "--root", tmp_path)
                if f["rule"] == "SYSTEMD001"]
    (tmp_path / "etc/systemd/system/sshd.service.d/oom.conf").write_text(
        "[Service]\n# OOMScoreAdjust=-900\n")
    [finding] = [f for f in findings(oomaudit, "scan", "--root", tmp_path)
                 if f["rule"] == "SYSTEMD001"]
    assert "alias sshd.service" in json.dumps(finding["evidence"])


def test_critical_services_globs_reach_generated_instances(oomaudit, tmp_path):
    write(tmp_path, "usr/lib/systemd/system/postgresql@.service",
          "[Service]\nExecStart=/usr/bin/pg_ctlcluster %i start\nMemoryMax=4G\n")
    write(tmp_path, "etc/postgresql/15/main/postgresql.conf", "shared_buffers = 128MB\n")
    config = write(tmp_path, "oomaudit.toml", 'critical-services = ["postgresql@*"]\n')
    [finding] = [f for f in findings(oomaudit, "scan", "--root", tmp_path, "--config", config)
                 if f["rule"] == "SYSTEMD001"]
    assert "postgresql@15-main.service" in finding["message"]
    assert "/etc/systemd/system/postgresql@15-main.service.d/oom.conf" in finding["fix"]


def test_check_over_realworld_units(oomaudit):
    folder = need_shared("realworld", "systemd")
    found = findings(oomaudit, "check", folder)
    got = {(f["rule"], Path(f["path"]).name.rsplit("__", 1)[-1], f["line"]) for f in found}
    # two repositories' mysql.service stay two units; docker's ${VAR} is not expanded
    assert ("SYSTEMD005", "mysql.service", None) in got
    assert sum(1 for r, name, _ in got if (r, name) == ("SYSTEMD005", "mysql.service")) == 1
    assert len([f for f in found if f["rule"] == "SYSTEMD005"
                and f["path"].endswith("mysql.service")]) == 2
    assert ("CONF001", "override.conf", 5) in got and ("CONF001", "override.conf", 6) in got
    assert not [f for f in found if f["rule"] in ("SYSTEMD001", "SYSTEMD003")]


def test_live_scan_says_what_it_could_not_see(oomaudit):
    proc = oomaudit("scan", "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    pid1 = Path("/proc/1/comm").read_text().strip()
    if pid1 != "systemd":
        assert any(f["rule"] == "CONF003" and "not systemd" in f["message"]
                   for f in report["findings"])


# --- live-only rules on a fake process snapshot ------------------------------------------

def _proc(pid, unit, adj, rss=1 << 20, name="worker"):
    return Proc(pid, name, (name,), rss, f"/system.slice/{unit}" if unit else "/", adj, 0, 0)


def _live_host(tmp_path, procs, units: dict[str, str]) -> Host:
    for name, text in units.items():
        write(tmp_path, f"usr/lib/systemd/system/{name}", text)
    host = Host("t", LIVE, tmp_path, Settings())
    host.cache["processes"] = procs
    host.cache[CACHE] = from_tree(Tree(tmp_path, CHROOT), lambda real, inside: parse_source(
        host.read(real, READER)))
    return host


def test_systemd004_reports_hand_set_scores_only(tmp_path):
    units = {"db.service": "[Service]\nExecStart=/usr/sbin/x\nOOMScoreAdjust=-500\n",
             "ssh.service": "[Service]\nExecStart=/usr/sbin/sshd -D\n"}
    procs = [_proc(10, "db.service", -500), _proc(11, "db.service", 0),
             _proc(12, "ssh.service", -1000, name="sshd")]
    [finding] = oomscore.check_systemd004(_live_host(tmp_path, procs, units))
    assert "PID 11 worker=0" in finding.message and "unit's -500" in finding.message
    procs[1] = _proc(11, "db.service", -500)
    assert list(oomscore.check_systemd004(_live_host(tmp_path, procs, units))) == []


def test_systemd002_uses_the_ledger_and_the_largest_rss(tmp_path):
    units = {"mariadb.service": "[Service]\nExecStart=/usr/sbin/mariadbd\nOOMScoreAdjust=-1000\n",
             "php8.2-fpm.service": "[Service]\nExecStart=/usr/sbin/php-fpm8.2\n"}
    host = _live_host(tmp_path, [_proc(5, "mariadb.service", -1000, rss=1 << 30)], units)
    host.mode = ROOT
    host.ledger.add("mysql", 6 << 30, "buffers", "my.cnf:3")
    host.ledger.add("php-fpm", 2 << 30, "children", "www.conf:9")
    [finding] = oomscore.check_systemd002(host)
    assert "largest consumer in the memory ledger: mysql 6.0 GiB" in finding.evidence[0].what
    host.ledger.add("php-fpm", 8 << 30, "more children", "www.conf:10")
    assert list(oomscore.check_systemd002(host)) == []
    host.mode = LIVE  # the live snapshot: mariadbd has the highest RSS at -1000
    live = list(oomscore.check_systemd002(host))
    assert [f.rule for f in live] == ["SYSTEMD002"] and "PID 5" in live[0].message


def test_systemd005_ignores_noop_wrappers_and_caps_from_the_ledger(tmp_path):
    units = {"postgresql.service": "[Service]\nType=oneshot\nExecStart=/bin/true\n",
             "mysql.service": "[Service]\nExecStart=/usr/bin/numactl -i all /usr/sbin/mysqld\n"}
    host = _live_host(tmp_path, [], units)
    host.ledger.add("mysql", 4 << 30, "buffers", "my.cnf:3")
    [finding] = caps.check_systemd005(host)
    assert "mysql.service" in finding.message
    assert "MemoryHigh=4096M\nMemoryMax=5120M" in finding.fix
