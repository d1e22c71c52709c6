"""``oomaudit logs`` end to end, and the KLOG rules in ``scan --root`` and ``check``."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import assert_no_traceback

from oomaudit.host import ROOT, Host

SCHEMA = json.loads(resources.files("oomaudit").joinpath("logs.schema.json").read_text())
FIXTURES = Path(__file__).parent / "fixtures"
SEED = ("[Fri Feb 27 10:15:30 2026] Out of memory: Killed process 12345 (mysqld) "
        "total-vm:4567890kB, anon-rss:3456780kB, file-rss:0kB, shmem-rss:0kB, UID:111 "
        "pgtables:8000kB oom_score_adj:0\n")


def dmesg_t(when: datetime, message: str) -> str:
    return f"[{when.strftime('%a %b %d %H:%M:%S %Y')}] {message}\n"


def syslog(when: datetime, message: str) -> str:
    return f"{when.strftime('%b %d %H:%M:%S')} db1 kernel: {message}\n"


def kill(pid: int, comm: str, anon_kb: int, prefix: str = "Out of memory") -> str:
    return (f"{prefix}: Killed process {pid} ({comm}) total-vm:{anon_kb * 2}kB, "
            f"anon-rss:{anon_kb}kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:100kB "
            "oom_score_adj:0")


def test_seed_line_gives_one_event(oomaudit, tmp_path):
    (tmp_path / "seed.log").write_text(SEED)
    proc = oomaudit("logs", "--since", "all", "seed.log")
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("1 OOM kill in all logs read: mysqld ×1 (anon-rss 3.3 GiB)")
    assert "killed mysqld (pid 12345, uid 111): anon-rss 3.3 GiB" in proc.stdout
    assert "oom_score_adj 0" in proc.stdout and "2026-02-27 10:15:30" in proc.stdout


def test_json_from_stdin_validates_against_the_schema(oomaudit):
    proc = oomaudit("logs", "-", "--since", "all", "--format", "json", input=SEED)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    [event] = data["events"]
    assert (event["pid"], event["process"], event["anon_rss_kb"], event["uid"],
            event["oom_score_adj"], event["timestamp"]) == (
        12345, "mysqld", 3456780, 111, 0, "Fri Feb 27 10:15:30 2026")
    assert data["sources"] == [{"label": "-", "status": "read", "detail": "1 OOM kill(s)"}]


def test_every_fixture_validates_and_window_and_grouping(oomaudit, tmp_path):
    now = datetime.now()
    log = tmp_path / "kern.log"
    log.write_text(
        dmesg_t(now - timedelta(days=60), kill(1, "mysqld", 9_000_000))
        + dmesg_t(now - timedelta(days=2), kill(2, "mysqld", 3_456_780))
        + dmesg_t(now - timedelta(days=1), kill(3, "mysqld", 1_000_000))
        + dmesg_t(now - timedelta(hours=5), "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(nu"
                  "ll),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/php8.2-fpm.service,task"
                  "_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=4,uid=33")
        + dmesg_t(now - timedelta(hours=5), kill(4, "php-fpm8.2", 500_000,
                                                 "Memory cgroup out of memory")))
    proc = oomaudit("logs", str(log), *(str(p) for p in sorted(FIXTURES.glob("*.log"))),
                    "--format", "json", "--since", "30d")  # files given are read whole without
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["older"] >= 1  # the 60-day-old kill is outside the window
    text = oomaudit("logs", str(log), "--since", "30d").stdout
    assert text.splitlines()[0] == (
        "3 OOM kills in the last 30 days: mysqld ×2 (anon-rss 3.3 GiB), "
        "php-fpm8.2 ×1 (anon-rss 488.3 MiB) in /system.slice/php8.2-fpm.service")
    assert "memory-cgroup OOM (CONSTRAINT_MEMCG)" in text


def test_no_kills_exit_zero_and_gzip_rotations(oomaudit, tmp_path):
    with gzip.open(tmp_path / "kern.log.1.gz", "wt") as fh:
        fh.write("[    1.000000] Linux version 6.1.0\n" * 100)
    proc = oomaudit("logs", "kern.log.1.gz")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no OOM kills in all logs read")  # a file given: all of it


def test_unreadable_named_file_is_exit_two_and_the_rest_is_read(oomaudit, tmp_path):
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "seed.log").write_text(SEED)
    proc = oomaudit("logs", "--since", "all", "broken.gz", "seed.log")
    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "could not read broken.gz: unreadable" in proc.stderr
    assert "mysqld ×1" in proc.stdout
    missing = oomaudit("logs", "nope.log")
    assert missing.returncode == 2 and "nope.log: no such file" in missing.stderr


def test_bad_since_is_a_usage_error(oomaudit):
    proc = oomaudit("logs", "--since", "yesterday-ish", "-", input="")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "--since" in proc.stderr and "yesterday-ish" in proc.stderr


def test_live_sources_are_named_with_what_happened(oomaudit):
    proc = oomaudit("logs", "--format", "json")
    assert_no_traceback(proc)
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    labels = [s["label"] for s in data["sources"]]
    assert labels[0].startswith("journalctl")
    assert any(label.startswith(("/dev/kmsg", "dmesg")) for label in labels)
    assert all(s["detail"] for s in data["sources"] if s["status"] != "read")
    assert proc.returncode == (2 if not any(s["status"] == "read" for s in data["sources"])
                               else 1 if data["events"] else 0)
    text = oomaudit("logs").stdout
    assert "sources: journalctl -k (all boots): " in text


# -- the rules -------------------------------------------------------------------------
def _tree(tmp_path: Path, log: str, unit: str | None = None) -> Path:
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/kern.log").write_text(log)
    if unit:
        (root / "etc/systemd/system").mkdir(parents=True)
        (root / "etc/systemd/system/app.service").write_text(unit)
    return root


def _findings(proc) -> list[dict]:
    assert_no_traceback(proc)
    return json.loads(proc.stdout)["findings"]


def test_klog_rules_fire_under_root_with_the_unit_limit(oomaudit, tmp_path):
    now = datetime.now()
    log = (syslog(now, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_al"
                       "lowed=0,oom_memcg=/system.slice/app.service,task_memcg=/system.slice/a"
                       "pp.service,task=worker,pid=71,uid=998")
           + syslog(now, "memory: usage 1048576kB, limit 1048576kB, failcnt 77")
           + syslog(now, kill(71, "worker", 700_000, "Memory cgroup out of memory")))
    root = _tree(tmp_path, log, "[Service]\nExecStart=/usr/bin/worker\nMemoryMax=1G\n")
    found = _findings(oomaudit("scan", "--root", root, "--ram", "8G", "--select", "KLOG",
                               "--format", "json"))
    by_rule = {f["rule"]: f for f in found}
    assert set(by_rule) == {"KLOG001", "KLOG002"}
    assert by_rule["KLOG001"]["message"].startswith("worker killed by the OOM killer once")
    assert "(app.service)" in by_rule["KLOG001"]["message"]
    k2 = by_rule["KLOG002"]
    assert k2["message"] == ("worker killed by a memory-cgroup OOM: /system.slice/app.service "
                             "hit its limit 1.0 GiB")
    assert k2["path"].endswith("var/log/kern.log") and k2["line"] == 3
    limit = [e for e in k2["evidence"] if e["what"] == "MemoryMax=1G"]
    assert limit and limit[0]["source"].endswith("etc/systemd/system/app.service:3")


def test_klog_rules_do_not_fire_without_kills(oomaudit, tmp_path):
    now = datetime.now()
    root = _tree(tmp_path, syslog(now, "e1000e: eth0 NIC Link is Up")
                 + syslog(now - timedelta(days=90), kill(1, "mysqld", 1000)))
    found = _findings(oomaudit("scan", "--root", root, "--ram", "8G", "--select", "KLOG",
                               "--format", "json"))
    assert found == []


def test_check_mode_sniffs_a_log_and_fires_klog002_only_for_memcg(oomaudit, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    now = datetime.now()
    (repo / "incident.log").write_text(
        dmesg_t(now, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=c,mems_allow"
                     "ed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/c0ffee,task=java,"
                     "pid=4242,uid=1000")
        + dmesg_t(now, "memory: usage 2097152kB, limit 2097152kB, failcnt 3311")
        + dmesg_t(now, kill(4242, "java", 2_000_000, "Memory cgroup out of memory")))
    (repo / "other.log").write_text(dmesg_t(now, kill(9, "sed", 1000)))
    (repo / "app.yml").write_text("Killed process is just text here\n")
    found = _findings(oomaudit("check", repo, "--select", "KLOG", "--format", "json"))
    rules = sorted((f["rule"], Path(f["path"]).name) for f in found)
    assert rules == [("KLOG001", "incident.log"), ("KLOG001", "other.log"),
                     ("KLOG002", "incident.log")]
    k2 = next(f for f in found if f["rule"] == "KLOG002")
    assert "/kubepods/pod1 hit its limit 2.0 GiB" in k2["message"]
    assert "container" in k2["fix"]


def test_klog001_cites_the_ledger_of_the_killed_service(tmp_path):
    """The engine-agnostic tie: a victim's service meets its ledger consumer (any plugin's)."""
    from oomaudit.plugins.klog import events, rules
    from oomaudit.plugins.klog.kills import HostKills

    from oomaudit.host import Fact
    from oomaudit.parsers.kernlog_event import OomEvent

    host = Host("t", ROOT, tmp_path)
    host.facts["ram"] = Fact(8 << 30, "declared: --ram")
    host.ledger.add("mysql", 6 << 30, "innodb_buffer_pool_size 6 GiB", "etc/mysql/my.cnf:2",
                    "mysql")
    host.ledger.add("php-fpm", 1 << 30, "pm.max_children 16 x 64 MiB", "www.conf:9", "php")
    kills = host.cache[events.CACHE] = HostKills()
    for n in (4, 9):
        kills.add(OomEvent(pid=n, process="mariadbd", anon_rss_kb=3_456_780, source="kern.log",
                           line=n, memcg="/system.slice/mariadb.service"))
    [finding] = list(rules.check_klog001(host))
    assert finding.message.startswith("mariadbd killed by the OOM killer 2x in 30 days")
    assert "(mariadb.service); see the MYSQL findings" in finding.message
    ledger = [e for e in finding.evidence if e.what.startswith("memory ledger")]
    assert [e.source for e in ledger] == ["etc/mysql/my.cnf:2"]
    assert (finding.path, finding.line) == ("kern.log", 9)
    assert "systemctl edit mariadb.service" in finding.fix
    assert list(rules.check_klog002(host)) == []  # not memcg kills


@pytest.mark.parametrize("process, service", [
    ("mysqld", "mysql"), ("mariadbd", "mysql"), ("postgres", "postgresql"),
    ("php-fpm8.2", "php-fpm"), ("httpd", "apache"), ("java", "java")])
def test_victim_names_map_to_ledger_services(process, service):
    from oomaudit.plugins.klog.rules import service_of
    assert service_of(process) == service


def test_mangled_input_never_gives_a_traceback(oomaudit, tmp_path):
    import random
    rng = random.Random(5)
    noise = bytes(rng.randrange(256) for _ in range(200_000))
    (tmp_path / "noise.log").write_bytes(noise + SEED.encode()[:90] + b"\x00\xff" + noise)
    proc = oomaudit("logs", "--since", "all", "noise.log", "--format", "json")
    assert_no_traceback(proc)
    jsonschema.validate(json.loads(proc.stdout), SCHEMA)
    folder = oomaudit("logs", str(tmp_path))
    assert folder.returncode == 2 and "not a regular file" in folder.stderr
    (tmp_path / "a.log").symlink_to(tmp_path / "b.log")
    (tmp_path / "b.log").symlink_to(tmp_path / "a.log")
    loop = oomaudit("logs", "a.log")  # the wording of a loop is confine.py's
    assert loop.returncode == 2 and loop.stderr.startswith("oomaudit: error: a.log: ")
    assert loop.stderr.count("\n") == 1


# -- streaming: memory does not grow with the kills --------------------------------------
def test_json_events_are_written_as_they_are_read(tmp_path):
    """A kill is on stdout while the log is still being written: nothing waits for the end."""
    import select
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "oomaudit", "logs", "-", "--format", "json"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path)
    try:
        proc.stdin.write((kill(4242, "mysqld", 1000) + "\n" + "e1000e: link up\n" * 60).encode())
        proc.stdin.flush()  # the report is over (its tail of 50 lines), the input is not
        seen = b""
        while b'"pid": 4242' not in seen:
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            assert ready, f"no event 30 s after it was written: {seen!r}"
            seen += proc.stdout.read1(65536)
        assert proc.poll() is None  # still reading
    finally:
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=30)
    data = json.loads(seen + rest)
    jsonschema.validate(data, SCHEMA)
    assert [e["pid"] for e in data["events"]] == [4242] and data["summary"]["kills"] == 1


def test_many_kills_are_counted_and_text_lists_the_latest(oomaudit):
    log = "".join(kill(n, f"worker{n % 3}", 1000 + n) + "\n" for n in range(1, 251))
    text = oomaudit("logs", "-", input=log)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert lines[0].startswith("250 OOM kills in all logs read: worker1 ×84 (anon-rss 1.2 MiB), "
                               "worker0 ×83")
    assert "  (the latest 100 listed; the summary counts every one, --format json lists " \
           "every one)" in lines
    listed = [line for line in lines if "  killed worker" in line]
    assert len(listed) == 100 and "(pid 250, uid 33)" in listed[-1]
    data = json.loads(oomaudit("logs", "-", "--format", "json", input=log).stdout)
    jsonschema.validate(data, SCHEMA)
    assert [e["pid"] for e in data["events"]] == list(range(1, 251))
    assert sum(row["count"] for row in data["summary"]["by_process"]) == 250


def test_process_names_past_the_limit_are_counted_together(oomaudit):
    from oomaudit.logview import Kills

    log = "".join(kill(n, f"p{n}", 1000) + "\n" for n in range(1, Kills.MAX_GROUPS + 51))
    data = json.loads(oomaudit("logs", "-", "--format", "json", input=log).stdout)
    rows = data["summary"]["by_process"]
    assert len(rows) == Kills.MAX_GROUPS + 1 and data["summary"]["kills"] == 1050
    assert [r["count"] for r in rows if r["process"] == "(other processes)"] == [50]


def test_klog_rules_read_many_kills_in_bounded_memory(oomaudit, tmp_path):
    """The rules hold counts, the last five kills and the latest per victim, not each kill:
    a tree's 3,000 kills are one KLOG001 with every kill counted, one KLOG002 per cgroup."""
    now = datetime.now()
    log = "".join(
        syslog(now, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed"
                    f"=0,oom_memcg=/app{n % 2}.service,task_memcg=/app{n % 2}.service,task=worker,"
                    f"pid={n},uid=1") + syslog(now, kill(n, "worker", 1000 + n,
                                                         "Memory cgroup out of memory"))
        for n in range(1, 3001))
    root = _tree(tmp_path, log)
    found = _findings(oomaudit("scan", "--root", root, "--ram", "8G", "--select", "KLOG",
                               "--format", "json"))
    [k1] = [f for f in found if f["rule"] == "KLOG001"]
    assert k1["message"].startswith("worker killed by the OOM killer 3000x in 30 days")
    assert k1["evidence"][0]["what"] == "2995 earlier kill(s) not listed"
    assert k1["line"] == 6000 and "pid 3000 worker" in k1["evidence"][5]["what"]
    k2 = sorted(f["message"] for f in found if f["rule"] == "KLOG002")
    assert k2 == ["worker killed 1500x by a memory-cgroup OOM: /app0.service hit its limit "
                  "not printed", "worker killed 1500x by a memory-cgroup OOM: /app1.service "
                  "hit its limit not printed"]
